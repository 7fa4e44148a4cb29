//! Offline evaluation on `thumbs-v1` (to be written).
