// Activation functions of matmul.wgsl (prepended by mod.rs): `shape.activation` picks one.

// erf by Abramowitz & Stegun 7.1.26 (absolute error ≤ 1.5e-7), the formula the CPU path and
// PyTorch's vectorized CPU erf use.
fn erf_approx(x: f32) -> f32 {
    let a = abs(x);
    let t = 1.0 / (1.0 + 0.3275911 * a);
    let poly = ((((1.0614054 * t - 1.4531521) * t + 1.4214138) * t - 0.28449674) * t + 0.2548296) * t;
    let y = 1.0 - poly * exp(-a * a);
    return select(-y, y, x >= 0.0);
}

fn activate(x: f32) -> f32 {
    let activation = shape.activation;
    if (activation == ACT_GELU_ERF) {
        return 0.5 * x * (1.0 + erf_approx(x * 0.70710678118654752));
    }
    if (activation == ACT_GELU_TANH) {
        // Clamped: some drivers compute tanh through exp and overflow to NaN for large inputs.
        let inner = clamp(0.7978845608028654 * (x + 0.044715 * x * x * x), -15.0, 15.0);
        return 0.5 * x * (1.0 + tanh(inner));
    }
    if (activation == ACT_RELU) {
        return max(x, 0.0);
    }
    if (activation == ACT_SILU) {
        // exp(-x) overflows to +inf for very negative x, where x / inf = -0 is the right limit.
        return x / (1.0 + exp(min(-x, 80.0)));
    }
    return x;
}
