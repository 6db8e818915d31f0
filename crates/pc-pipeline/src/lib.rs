//! A producer-consumer pipeline orchestrator over bounded blocking buffers.
//!
//! This crate is the top layer: it runs producers and consumers (from [`pc_roles`]) over a
//! bounded buffer (from [`pc_buffer`]). It re-exports the layers below, so depending on this
//! crate alone is enough:
//!
//! ```
//! use pc_pipeline::BoundedBuffer;
//!
//! let buffer = BoundedBuffer::new(2).unwrap();
//! buffer.put("job").unwrap();
//! assert_eq!(buffer.stats().items_put, 1);
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use pc_roles::{
    BoundedBuffer, Buffer, BufferGetError, BufferPutError, BufferStats, CapacityError,
};
