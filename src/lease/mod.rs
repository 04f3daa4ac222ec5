//! Lease handling logic, free of I/O: validation, diffing a new lease against the current one,
//! and deciding what the interface must look like afterwards.

pub mod dropped;
pub mod special;
pub mod v4;
pub mod v6;
