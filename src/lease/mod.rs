//! Lease handling logic, free of I/O: validation, diffing a new lease against the current one,
//! and deciding what the interface must look like afterwards.

pub(crate) mod dropped;
pub(crate) mod special;
pub(crate) mod v4;
pub(crate) mod v6;
