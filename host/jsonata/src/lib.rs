//! A JSONata 2.x evaluator (parser -> AST -> evaluator). Work in progress.
