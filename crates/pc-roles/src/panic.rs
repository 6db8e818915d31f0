//! Catching a panic in user code and keeping its message, so a role can stop cleanly and say why.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};

/// Runs user code `f` and turns a panic into its message, for a role that then stops cleanly.
///
/// It asserts that `f` is unwind safe: use it only where, as in every role here, the user's
/// value is never touched again after it panicked (the role stops, hands back what it still
/// holds and reports the message).
///
/// ```
/// assert_eq!(pc_roles::catch_panic(|| 6 * 7), Ok(42));
/// assert_eq!(pc_roles::catch_panic(|| -> u8 { panic!("no") }), Err("no".to_owned()));
/// ```
pub fn catch_panic<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    panic::catch_unwind(AssertUnwindSafe(f)).map_err(|payload| panic_message(&*payload))
}

/// The message of a panic payload: the `&str` or `String` given to `panic!`, or a placeholder for
/// any other payload.
///
/// ```
/// let payload = std::panic::catch_unwind(|| panic!("disk {} is full", 3)).unwrap_err();
/// assert_eq!(pc_roles::panic_message(&*payload), "disk 3 is full");
/// ```
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<&str>() {
        (*message).to_owned()
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else {
        "panic with a non-string payload".to_owned()
    }
}
