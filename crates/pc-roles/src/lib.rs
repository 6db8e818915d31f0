//! Producer and consumer roles for bounded blocking buffers.
//!
//! This crate is the layer above [`pc_buffer`]: it drives producers and consumers against any
//! [`Buffer`]. It re-exports the buffer layer, so depending on this crate alone is enough to
//! use the buffer:
//!
//! ```
//! use pc_roles::{BoundedBuffer, Buffer};
//!
//! let buffer = BoundedBuffer::new(2).unwrap();
//! Buffer::put(&buffer, 1).unwrap();
//! assert_eq!(buffer.get(), Ok(1));
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use pc_buffer::{
    BoundedBuffer, Buffer, BufferGetError, BufferPutError, BufferStats, CapacityError,
};
