//! The Prepare-time parameter derivations (`tmlc_ir::prepare`) that the
//! interpreter and the backend share, against literal values.

#![allow(clippy::panic, clippy::unwrap_used)] // tests fail by panicking

use tmlc_ir::prepare::{self, AddSubParams};
use tmlc_ir::Quant;

#[test]
fn prepare_sub_uses_f32_and_add_uses_double() {
    // Literal values from an independent Python transcription of spec/ir.md §5.4-5.5.
    assert_eq!(
        prepare::sub_params(0.1, 0.07, 0.13).unwrap(),
        AddSubParams {
            left_shift: 20,
            input1: (1073741824, 0),
            input2: (1503238528, -1),
            output: (1651910528, -19)
        }
    );
    assert_eq!(
        prepare::add_params(0.1, 0.07, 0.13).unwrap(),
        AddSubParams {
            left_shift: 20,
            input1: (1073741824, 0),
            input2: (1503238538, -1),
            output: (1651910584, -19)
        }
    );
}

#[test]
fn prepare_fully_connected_and_conv_multipliers() {
    let w = Quant::per_tensor(0.07, 0);
    // Per tensor: product in f32 -> (1850139883, -4); conv uses double -> (1850139862, -4).
    assert_eq!(
        prepare::fully_connected_multipliers(0.1, &w, 0.13, 2).unwrap(),
        vec![(1850139883, -4); 2]
    );
    assert_eq!(
        prepare::conv_multipliers(0.1, &w, 0.13, 1).unwrap(),
        vec![(1850139862, -4)]
    );
    let pc = Quant::per_axis(0, vec![0.07, 0.5], vec![0, 0]);
    assert_eq!(
        prepare::fully_connected_multipliers(0.1, &pc, 0.13, 2).unwrap(),
        vec![
            (1850139862, -4),
            tmlc_ir::arith::quantize_multiplier(0.1f32 as f64 * 0.5 / 0.13f32 as f64)
        ]
    );
}

#[test]
fn prepare_softmax_and_logistic() {
    let p = prepare::softmax_params(1.0, 0.1).unwrap();
    assert_eq!(
        (p.input_multiplier, p.input_left_shift, p.diff_min),
        (1717986944, 23, -248)
    );
    let p = prepare::sigmoid_tanh_params("sigmoid", 0.1).unwrap();
    assert_eq!(
        (p.input_multiplier, p.input_left_shift, p.input_range_radius),
        (1717986944, 24, 120)
    );
    let p = prepare::hard_swish_params(0.1, 0.1).unwrap();
    assert_eq!(
        (
            p.output_multiplier,
            p.output_exponent,
            p.reluish_multiplier,
            p.reluish_exponent
        ),
        (16384, -6, 17476, 4)
    );
}
