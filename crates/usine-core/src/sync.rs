//! The one way Usine takes a lock. A panic while a lock was held (caught by the tracker, which
//! keeps going) must not make the value unusable for good: every value guarded here stays
//! consistent between statements (the store writes each change in its own transaction; queues
//! and maps are changed in one call), so the poisoned guard is taken as it is.

use std::sync::{Mutex, MutexGuard};

/// [`Mutex::lock`] and [`Mutex::into_inner`] that take over a poisoned lock.
pub trait Locked<T> {
    fn locked(&self) -> MutexGuard<'_, T>;
    fn into_value(self) -> T;
}

impl<T> Locked<T> for Mutex<T> {
    fn locked(&self) -> MutexGuard<'_, T> {
        self.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn into_value(self) -> T {
        self.into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::Locked;
    use std::sync::Mutex;

    #[test]
    fn a_lock_poisoned_by_a_panic_is_still_taken() {
        let m = Mutex::new(1);
        let _ = std::panic::catch_unwind(|| {
            let _guard = m.lock().unwrap();
            panic!("while holding it");
        });
        assert!(m.is_poisoned());
        *m.locked() += 1;
        assert_eq!(*m.locked(), 2);
        assert_eq!(m.into_value(), 2);
    }
}
