/** Exit codes of the compute process after an error that may leave its wasm heap or GPU device unusable. */
export const EXIT_OUT_OF_MEMORY = 75;
export const EXIT_GPU_ERROR = 76;
