//! Integer picture strings shared by `$formatInteger`, `$parseInteger` and date components.
