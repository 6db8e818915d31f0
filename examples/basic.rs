//! The original README's first snippet: run `[1, 2, 3, 4, 5]` through a pipeline with a buffer of 5 and get the data back.
//!
//! Run with `cargo run --example basic`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use pc_pipeline::Pipeline;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut pipeline = Pipeline::with_capacity(5)?;
    let results = pipeline.run([1, 2, 3, 4, 5])?;
    println!("{results:?}");
    Ok(())
}
