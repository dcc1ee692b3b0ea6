//! Imports from other monitoring tools into a WatchTower team. Each source has its own module:
//! it reads the source within bounds (the file is untrusted input), maps every object onto the
//! same parsers the API uses, and says for each object it cannot map why.

pub mod kuma;
