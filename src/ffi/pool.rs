//! A small persistent thread pool for batch calls: threads are spawned once, park on a
//! condition variable between calls, and run `task(i)` for `i in 0..n` with the calling thread
//! taking part. A call returns only when every task has finished, so tasks may borrow from the
//! caller's stack. Panics inside tasks are caught (quietly) and reported.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;

use parking_lot::{Condvar, Mutex};

use super::boundary::catch_quiet;

/// A job as the workers see it: a type- and lifetime-erased pointer to the caller's closure.
#[derive(Clone, Copy)]
struct JobPtr(*const (dyn Fn() + Sync + 'static));

// SAFETY: the closure is `Sync`, and `Pool::run` keeps it alive until every worker is done.
unsafe impl Send for JobPtr {}

struct State {
    generation: u64,
    job: Option<JobPtr>,
    /// Workers that have not finished the current generation.
    running: usize,
    shutdown: bool,
}

struct Shared {
    state: Mutex<State>,
    work: Condvar,
    done: Condvar,
}

/// The pool. `run` calls are serialized.
pub(crate) struct Pool {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
    dispatch: Mutex<()>,
}

impl Pool {
    /// A pool in which `threads` threads (the caller included) work on each call: spawns
    /// `threads - 1` workers.
    pub fn new(threads: usize) -> std::io::Result<Pool> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                generation: 0,
                job: None,
                running: 0,
                shutdown: false,
            }),
            work: Condvar::new(),
            done: Condvar::new(),
        });
        let mut pool = Pool {
            shared,
            workers: Vec::new(),
            dispatch: Mutex::new(()),
        };
        for i in 1..threads.max(1) {
            let sh = pool.shared.clone();
            let h = std::thread::Builder::new()
                .name(format!("xgr-batch-{i}"))
                .spawn(move || worker(&sh))?;
            pool.workers.push(h);
        }
        Ok(pool)
    }

    /// Threads working on each call, the caller included.
    pub fn threads(&self) -> usize {
        self.workers.len() + 1
    }

    /// Runs `task(i)` for every `i in 0..n` on the pool and the calling thread. Returns the
    /// message of the first panic, if a task panicked (the other tasks still run).
    pub fn run(&self, n: usize, task: &(dyn Fn(usize) + Sync)) -> Result<(), String> {
        let first_panic: Mutex<Option<String>> = Mutex::new(None);
        let next = AtomicUsize::new(0);
        let job = || {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                if let Err(msg) = catch_quiet(|| task(i)) {
                    first_panic.lock().get_or_insert(msg);
                }
            }
        };
        if self.workers.is_empty() || n <= 1 {
            job();
        } else {
            let _serial = self.dispatch.lock();
            let job_ref: &(dyn Fn() + Sync) = &job;
            // SAFETY: lifetime erasure only; `Wait` below keeps `job` alive (and this frame
            // from returning or unwinding) until every worker has finished with it.
            let ptr = unsafe {
                std::mem::transmute::<
                    *const (dyn Fn() + Sync + '_),
                    *const (dyn Fn() + Sync + 'static),
                >(job_ref)
            };
            {
                let mut st = self.shared.state.lock();
                st.job = Some(JobPtr(ptr));
                st.generation = st.generation.wrapping_add(1);
                st.running = self.workers.len();
                self.shared.work.notify_all();
            }
            let _wait = Wait(&self.shared);
            job();
        }
        match first_panic.into_inner() {
            Some(msg) => Err(msg),
            None => Ok(()),
        }
    }
}

/// Waits (also while unwinding) until the workers are done with the current job.
struct Wait<'a>(&'a Shared);

impl Drop for Wait<'_> {
    fn drop(&mut self) {
        let mut st = self.0.state.lock();
        while st.running > 0 {
            self.0.done.wait(&mut st);
        }
        st.job = None;
    }
}

fn worker(sh: &Shared) {
    let mut seen = 0u64;
    loop {
        let job = {
            let mut st = sh.state.lock();
            while st.generation == seen && !st.shutdown {
                sh.work.wait(&mut st);
            }
            if st.shutdown {
                return;
            }
            seen = st.generation;
            st.job
        };
        if let Some(JobPtr(f)) = job {
            // SAFETY: the dispatching `run` call waits for this worker before the closure dies.
            // The closure catches its tasks' panics, and `catch_quiet` guards the rest.
            let _ = catch_quiet(|| unsafe { (*f)() });
        }
        let mut st = sh.state.lock();
        st.running -= 1;
        if st.running == 0 {
            sh.done.notify_all();
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        {
            let mut st = self.shared.state.lock();
            st.shutdown = true;
            self.shared.work.notify_all();
        }
        for h in self.workers.drain(..) {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_every_task_once_and_reuses_threads() {
        let pool = Pool::new(4).unwrap();
        assert_eq!(pool.threads(), 4);
        for round in 0..200 {
            let n = round % 37;
            let hits: Vec<AtomicUsize> = (0..n).map(|_| AtomicUsize::new(0)).collect();
            pool.run(n, &|i| {
                hits[i].fetch_add(1, Ordering::Relaxed);
            })
            .unwrap();
            assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1));
        }
    }

    #[test]
    fn panics_are_reported_not_propagated() {
        let pool = Pool::new(3).unwrap();
        let done = AtomicUsize::new(0);
        let r = pool.run(10, &|i| {
            if i == 4 {
                panic!("task four failed");
            }
            done.fetch_add(1, Ordering::Relaxed);
        });
        assert!(r.unwrap_err().contains("task four failed"));
        assert_eq!(done.load(Ordering::Relaxed), 9);
        pool.run(5, &|_| {}).unwrap();
    }

    #[test]
    fn single_thread_pool_runs_inline() {
        let pool = Pool::new(1).unwrap();
        assert_eq!(pool.threads(), 1);
        let sum = AtomicUsize::new(0);
        pool.run(10, &|i| {
            sum.fetch_add(i, Ordering::Relaxed);
        })
        .unwrap();
        assert_eq!(sum.load(Ordering::Relaxed), 45);
    }
}
