//! The `thumbs-v1` split (to be written).
