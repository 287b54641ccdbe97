//! Guest SDK for Stepwasm task components. Work in progress.
#![deny(missing_docs)]
