//! [`Unprocessed`]: the items a run handed back, row by row, and the results it never delivered.

use std::any::Any;
use std::fmt;
use std::sync::{Mutex, PoisonError};

/// Items handed to one stage after the first and never processed, with their source indices,
/// in source order.
///
/// Each stage takes its own item type, so the items are kept behind `Any`:
/// [`take`](Self::take) them back as `Vec<(usize, T)>` with the stage's input type.
pub struct StageLeftovers {
    /// The stage's name.
    pub stage: String,
    indices: Vec<usize>,
    /// Behind a lock so that the leftovers, and the errors holding them, are `Sync` whatever
    /// the items are.
    items: Mutex<Option<Box<dyn Any + Send>>>,
}

impl StageLeftovers {
    pub(crate) fn new<T: Send + 'static>(stage: &str, mut items: Vec<(usize, T)>) -> Self {
        items.sort_unstable_by_key(|&(index, _)| index);
        Self {
            stage: stage.to_owned(),
            indices: items.iter().map(|&(index, _)| index).collect(),
            items: Mutex::new(Some(Box::new(items))),
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

    /// The source indices of the items, in order.
    pub fn indices(&self) -> &[usize] {
        &self.indices
    }

    /// Takes the items, with their source indices, if `T` is the stage's input type and they
    /// were not taken before.
    pub fn take<T: 'static>(&mut self) -> Option<Vec<(usize, T)>> {
        let slot = self.items.get_mut().unwrap_or_else(PoisonError::into_inner);
        match slot.take()?.downcast::<Vec<(usize, T)>>() {
            Ok(items) => Some(*items),
            Err(items) => {
                *slot = Some(items);
                None
            }
        }
    }
}

impl fmt::Debug for StageLeftovers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StageLeftovers")
            .field("stage", &self.stage)
            .field("items", &self.len())
            .finish()
    }
}

/// Everything a run handed back: the source's items that no stage processed, for each later
/// stage the items it was handed and never processed, and the results never delivered.
///
/// ```
/// use pc_pipeline::{Pipeline, Stage};
///
/// let chain = Pipeline::source(0..1_000u32).stage(Stage::new("parse").capacity(8), |n| n.to_string());
/// let cancel = chain.cancel_handle();
/// let mut stream = chain.stream().unwrap();
/// let first = stream.next();
/// cancel.cancel();
/// let finished = stream.finish().unwrap();
/// assert_eq!(first.as_deref(), Some("0"));
/// // Source items stopped in front of `parse` come back as they were, with their indices.
/// assert!(finished.unprocessed.items.iter().all(|&(index, n)| index == n as usize));
/// ```
pub struct Unprocessed<S, R> {
    /// Source items never processed by the first stage, with their source indices, in order.
    pub items: Vec<(usize, S)>,
    /// Per stage after the first, in chain order: the items handed to it and never processed.
    pub stages: Vec<StageLeftovers>,
    /// Results made by the last stage and never delivered, with their source indices, in order.
    pub results: Vec<(usize, R)>,
}

impl<S, R> Default for Unprocessed<S, R> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            stages: Vec::new(),
            results: Vec::new(),
        }
    }
}

impl<S, R> Unprocessed<S, R> {
    /// How many items and results were handed back in all.
    pub fn len(&self) -> usize {
        self.items.len()
            + self.stages.iter().map(StageLeftovers::len).sum::<usize>()
            + self.results.len()
    }

    /// Whether nothing was handed back.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The source indices of everything handed back, sorted.
    pub fn indices(&self) -> Vec<usize> {
        let mut indices: Vec<usize> = self
            .items
            .iter()
            .map(|&(index, _)| index)
            .chain(self.stages.iter().flat_map(|s| s.indices.iter().copied()))
            .chain(self.results.iter().map(|&(index, _)| index))
            .collect();
        indices.sort_unstable();
        indices
    }

    /// The leftovers of the stage named `stage` (a stage after the first).
    pub fn stage(&self, stage: &str) -> Option<&StageLeftovers> {
        self.stages.iter().find(|s| s.stage == stage)
    }

    /// Takes the items handed back by the stage named `stage` (a stage after the first), as
    /// its input type `T`.
    pub fn take<T: 'static>(&mut self, stage: &str) -> Option<Vec<(usize, T)>> {
        self.stages.iter_mut().find(|s| s.stage == stage)?.take()
    }

    pub(crate) fn without_items(self) -> Unprocessed<(), ()> {
        Unprocessed {
            items: self.items.into_iter().map(|(i, _)| (i, ())).collect(),
            stages: self.stages,
            results: self.results.into_iter().map(|(i, _)| (i, ())).collect(),
        }
    }
}

impl<S, R> fmt::Debug for Unprocessed<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unprocessed")
            .field("items", &self.items.len())
            .field("stages", &self.stages)
            .field("results", &self.results.len())
            .finish()
    }
}

/// Where a row's handed-back items gather during a run: its workers put back what they held,
/// the row before puts what it could not hand on.
pub(crate) struct Returns<T>(Mutex<Vec<(usize, T)>>);

impl<T> Returns<T> {
    pub(crate) fn new() -> Self {
        Self(Mutex::new(Vec::new()))
    }

    pub(crate) fn extend(&self, items: impl IntoIterator<Item = (usize, T)>) {
        // Only this module's code runs under the lock.
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(items);
    }

    pub(crate) fn take(&self) -> Vec<(usize, T)> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}
