//! End-to-end tests: the real binaries on real files. One test binary, one module per story.

mod cli;
mod shipped;
mod startd;
mod svccfg_validate;
mod tidy;
