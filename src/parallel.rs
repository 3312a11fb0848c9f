//! Work split over scoped threads.
//!
//! [`map`] runs one function over `0..n` on up to a given number of threads (never more
//! than the machine's cores, the calling thread included), each thread taking the next
//! index in turn, and returns the results in index order. With one thread, or one item, it
//! runs on the calling thread alone; helpers the system refuses to start leave their share
//! to the others.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Cores the process may use (1 when unknown).
fn available_cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// `f(0), f(1), ..., f(n - 1)` computed on up to `threads` threads, in index order.
pub(crate) fn map<R: Send>(n: usize, threads: usize, f: impl Fn(usize) -> R + Sync) -> Vec<R> {
    let threads = threads.clamp(1, available_cores()).min(n.max(1));
    if threads <= 1 {
        return (0..n).map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= n {
                break done;
            }
            done.push((i, f(i)));
        }
    };
    // The calling thread works too; a helper the system refuses to start is simply missing.
    let mut parts: Vec<Vec<(usize, R)>> = std::thread::scope(|sc| {
        let helpers: Vec<_> = (1..threads)
            .filter_map(|_| std::thread::Builder::new().spawn_scoped(sc, work).ok())
            .collect();
        let mut parts = vec![work()];
        for h in helpers {
            match h.join() {
                Ok(done) => parts.push(done),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        parts
    });
    let mut out: Vec<Option<R>> = (0..n).map(|_| None).collect();
    for (i, r) in parts.iter_mut().flat_map(std::mem::take) {
        out[i] = Some(r);
    }
    out.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn results_keep_index_order() {
        for threads in [1, 2, 8] {
            let v = super::map(1000, threads, |i| i * i);
            assert_eq!(v, (0..1000).map(|i| i * i).collect::<Vec<_>>());
        }
        assert!(super::map(0, 4, |i| i).is_empty());
    }
}
