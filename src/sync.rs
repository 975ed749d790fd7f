//! The one Mutex-poisoning policy: a poisoned lock is used as it is.
//!
//! A `Mutex` is poisoned when a thread panicked while holding it.
//! Release builds abort on panic (`panic = "abort"` in Cargo.toml), so there
//! no lock is ever seen poisoned; this matters in debug builds and tests,
//! where the first panic is the failure worth reading and a cascade of
//! `PoisonError` panics from every other thread would only hide it.
//! Every value guarded in this crate stays usable after an update that was
//! cut short (captured output, a transcript, findings pushed one at a time,
//! the last progress time, a channel's receiving end), so carrying on with
//! it is safe.

use std::sync::{Mutex, MutexGuard};

/// Locks `m`, taking the guard back if another thread panicked holding it.
pub fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Takes the value out of `m`, poisoned or not.
pub fn into_inner<T>(m: Mutex<T>) -> T {
    m.into_inner().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poisoned_lock_still_gives_its_value() {
        let m = Mutex::new(vec![1]);
        let poisoned = std::thread::scope(|s| {
            s.spawn(|| {
                let mut v = m.lock().unwrap();
                v.push(2);
                panic!("cut short while holding the lock");
            })
            .join()
            .is_err()
        });
        assert!(poisoned && m.is_poisoned());
        lock(&m).push(3);
        assert_eq!(into_inner(m), [1, 2, 3]);
    }
}
