//! depcheck: installability of packages against repositories, with libsolv-style explanations.
