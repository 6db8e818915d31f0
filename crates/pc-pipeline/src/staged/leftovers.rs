//! [`Unprocessed`]: the items a staged run handed back, stage by stage, and the results it never delivered.

use std::any::Any;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

/// Items handed to one stage and never processed, with their source indices, in source order.
///
/// Each stage takes its own item type, so the items are kept behind `Any`:
/// [`take`](Self::take) them back as `Vec<(usize, T)>` with the stage's input type.
pub struct StageLeftovers {
    /// The stage's name.
    pub stage: String,
    /// The source indices of the items, in order.
    pub indices: Vec<usize>,
    items: Option<Box<dyn Any + Send>>,
}

impl StageLeftovers {
    pub(crate) fn new<T: Send + 'static>(stage: &str, mut items: Vec<(usize, T)>) -> Self {
        items.sort_unstable_by_key(|&(index, _)| index);
        Self {
            stage: stage.to_owned(),
            indices: items.iter().map(|&(index, _)| index).collect(),
            items: Some(Box::new(items)),
        }
    }

    /// How many items the stage handed back.
    pub fn len(&self) -> usize {
        self.indices.len()
    }

    /// Whether the stage handed nothing back.
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    /// Takes the items, with their source indices, if `T` is the stage's input type and they
    /// were not taken before.
    pub fn take<T: 'static>(&mut self) -> Option<Vec<(usize, T)>> {
        match self.items.take()?.downcast::<Vec<(usize, T)>>() {
            Ok(items) => Some(*items),
            Err(items) => {
                self.items = Some(items);
                None
            }
        }
    }
}

impl fmt::Debug for StageLeftovers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StageLeftovers")
            .field("stage", &self.stage)
            .field("indices", &self.indices)
            .finish_non_exhaustive()
    }
}

/// Everything a staged run handed back: for each stage the items it was handed and never
/// processed, and the results it made but never delivered.
///
/// ```
/// use pc_pipeline::{Pipeline, Stage};
///
/// let chain = Pipeline::source(0..1_000u32).stage(Stage::new("parse").capacity(8), |n| n.to_string());
/// let cancel = chain.cancel_handle();
/// let mut stream = chain.stream().unwrap();
/// let first = stream.next();
/// cancel.cancel();
/// let mut finished = stream.finish().unwrap();
/// assert_eq!(first.as_deref(), Some("0"));
/// // Items stopped in front of `parse` come back as the stage's input type.
/// let parse_leftovers: Vec<(usize, u32)> = finished.unprocessed.take("parse").unwrap();
/// assert!(parse_leftovers.iter().all(|&(index, n)| index == n as usize));
/// ```
pub struct Unprocessed<R> {
    /// Per stage, in chain order: the items handed to it and never processed.
    pub stages: Vec<StageLeftovers>,
    /// Results made by the last stage and never delivered, with their source indices.
    pub results: Vec<(usize, R)>,
}

impl<R> Unprocessed<R> {
    /// How many items and results were handed back in all.
    pub fn len(&self) -> usize {
        self.stages.iter().map(StageLeftovers::len).sum::<usize>() + self.results.len()
    }

    /// Whether nothing was handed back.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The source indices of everything handed back, sorted.
    pub fn indices(&self) -> Vec<usize> {
        let mut indices: Vec<usize> = self
            .stages
            .iter()
            .flat_map(|stage| stage.indices.iter().copied())
            .chain(self.results.iter().map(|&(index, _)| index))
            .collect();
        indices.sort_unstable();
        indices
    }

    /// The leftovers of the stage named `stage`.
    pub fn stage(&self, stage: &str) -> Option<&StageLeftovers> {
        self.stages.iter().find(|s| s.stage == stage)
    }

    /// Takes the items handed back by the stage named `stage`, as its input type `T`.
    pub fn take<T: 'static>(&mut self, stage: &str) -> Option<Vec<(usize, T)>> {
        self.stages.iter_mut().find(|s| s.stage == stage)?.take()
    }
}

impl<R> fmt::Debug for Unprocessed<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unprocessed")
            .field("stages", &self.stages)
            .field("results", &format_args!("[{} results]", self.results.len()))
            .finish()
    }
}

/// Where a row's handed-back items gather during a run: its workers put back what they held,
/// the row before puts what it could not hand on.
pub(crate) struct Returns<T>(Mutex<Vec<(usize, T)>>);

impl<T> Returns<T> {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self(Mutex::new(Vec::new())))
    }

    pub(crate) fn extend(&self, items: impl IntoIterator<Item = (usize, T)>) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(items);
    }

    pub(crate) fn take(&self) -> Vec<(usize, T)> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}
