//! Host bindings generated from `wit/task.wit` (the `task` world), kept in one place.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "task",
    exports: { default: async },
});
