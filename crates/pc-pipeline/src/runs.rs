//! [`IndexedRuns`]: a consumer's results kept without a per-item index, as runs of consecutive input indices.
//!
//! A consumer takes items in batches, and a batch is a stretch of consecutive input indices
//! (producers put in input order), so one consumer's results are a few long runs: all of them
//! for the only consumer of a run. Storing the results bare and one `(position, index)` pair per
//! run halves the memory a consumer writes for `u64` results, and the only consumer's `Vec` is
//! the pipeline's output as it stands, with no pass to strip the indices.

/// Results with their input indices, stored as runs.
#[derive(Debug)]
pub(crate) struct IndexedRuns<R> {
    results: Vec<R>,
    /// `(position in results, input index of that result)` for the first result of each run.
    starts: Vec<(usize, usize)>,
    /// The index the next result needs to extend the last run.
    next: usize,
}

impl<R> IndexedRuns<R> {
    pub(crate) fn new() -> Self {
        Self {
            results: Vec::new(),
            starts: Vec::new(),
            next: 0,
        }
    }

    #[inline]
    pub(crate) fn push(&mut self, index: usize, result: R) {
        if self.starts.is_empty() || index != self.next {
            self.starts.push((self.results.len(), index));
        }
        self.next = index + 1;
        self.results.push(result);
    }

    /// Pushes `results` with consecutive indices from `first`, in one move, emptying it.
    pub(crate) fn append(&mut self, first: usize, results: &mut Vec<R>) {
        if results.is_empty() {
            return;
        }
        if self.starts.is_empty() || first != self.next {
            self.starts.push((self.results.len(), first));
        }
        self.next = first + results.len();
        self.results.append(results);
    }

    /// The results without their indices, in the order they were pushed.
    pub(crate) fn into_results(self) -> Vec<R> {
        self.results
    }

    /// Every result with its input index, in the order they were pushed.
    pub(crate) fn into_indexed(self) -> impl Iterator<Item = (usize, R)> {
        let mut starts = self.starts.into_iter().peekable();
        let mut index = 0;
        self.results
            .into_iter()
            .enumerate()
            .map(move |(position, result)| {
                if let Some((_, first)) = starts.next_if(|&(at, _)| at == position) {
                    index = first;
                }
                index += 1;
                (index - 1, result)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::IndexedRuns;

    #[test]
    fn indices_come_back_across_runs() {
        let mut runs = IndexedRuns::new();
        let pushed = [
            (0, 'a'),
            (1, 'b'),
            (2, 'c'),
            (7, 'd'),
            (8, 'e'),
            (3, 'f'),
            (20, 'g'),
        ];
        for (index, result) in pushed {
            runs.push(index, result);
        }
        assert_eq!(runs.starts, [(0, 0), (3, 7), (5, 3), (6, 20)]);
        assert!(runs.into_indexed().eq(pushed));
    }

    #[test]
    fn a_first_run_may_start_anywhere() {
        let mut runs = IndexedRuns::new();
        runs.push(5, 50);
        runs.push(6, 60);
        assert!(runs.into_indexed().eq([(5, 50), (6, 60)]));
        let mut runs = IndexedRuns::new();
        runs.push(0, 1);
        runs.push(0, 2); // not consecutive: a new run, even at the same index
        assert!(runs.into_indexed().eq([(0, 1), (0, 2)]));
    }

    #[test]
    fn results_come_back_bare_in_push_order() {
        let mut runs = IndexedRuns::new();
        assert_eq!(runs.into_indexed().count(), 0);
        runs = IndexedRuns::new();
        for index in (0..10).rev() {
            runs.push(index, index * 2);
        }
        assert_eq!(runs.into_results(), [18, 16, 14, 12, 10, 8, 6, 4, 2, 0]);
    }
}
