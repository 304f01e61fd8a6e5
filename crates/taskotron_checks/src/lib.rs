//! The built-in checks besides depcheck: upgradepath and rpmlint's output turned into results.
