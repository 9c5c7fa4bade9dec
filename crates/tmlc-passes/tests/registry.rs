#![allow(clippy::panic, clippy::unwrap_used)] // tests fail by panicking

//! Passes from outside the crate: registered with options, parsed into a
//! pipeline beside built-in passes, run with a context; pipeline text
//! round trip; errors for unknown passes and options.

use tmlc_ir::{parse, print, Graph, Op};
use tmlc_passes::{
    Changed, Pass, PassContext, PassError, PassInfo, PassOptions, Pipeline, Registry,
};

/// Renames the graph (an option) and counts relus into the shared data.
struct Tag {
    suffix: String,
}

#[derive(Default, Debug, PartialEq)]
struct ReluCount(usize);

impl Pass for Tag {
    fn name(&self) -> &'static str {
        "tag"
    }
    fn options(&self) -> Vec<(&'static str, String)> {
        vec![("suffix", self.suffix.clone())]
    }
    fn run(&self, g: &mut Graph, cx: &mut PassContext<'_>) -> Result<Changed, PassError> {
        g.name = format!("{}_{}", g.name, self.suffix);
        let relus = g
            .node_ids()
            .iter()
            .filter(|&&n| g.node(n).op == Op::Relu)
            .count();
        cx.insert(ReluCount(relus));
        Ok(Changed::Yes)
    }
}

fn build_tag(o: &mut PassOptions) -> Result<Box<dyn Pass>, PassError> {
    Ok(Box::new(Tag {
        suffix: o.get("suffix", "x".to_string())?,
    }))
}

const TAG: PassInfo = PassInfo {
    name: "tag",
    description: "rename the graph and count relus",
    options: &[("suffix", "appended to the graph name")],
    build: build_tag,
};

const G: &str = "graph @m(%x: f32[2]) -> (%y) {
  %a = relu(%x) : f32[2]
  %d = relu6(%x) : f32[2]
  %y = relu(%a) : f32[2]
}
";

#[test]
fn an_outside_pass_is_registered_parsed_and_run() {
    let mut reg = Registry::builtin();
    reg.register(TAG).unwrap();
    let p = Pipeline::parse("tag{suffix=v2}, dce", &reg).unwrap();
    assert_eq!(p.names(), vec!["tag", "dce"]);
    assert_eq!(p.to_text(), "tag{suffix=v2},dce");
    // The text form parses back to the same pipeline.
    assert_eq!(
        Pipeline::parse(&p.to_text(), &reg).unwrap().to_text(),
        p.to_text()
    );
    let mut g = parse(G).unwrap();
    let mut cx = PassContext::new(true);
    assert_eq!(p.run(&mut g, &mut cx).unwrap(), Changed::Yes);
    assert_eq!(g.name, "m_v2");
    assert_eq!(cx.get::<ReluCount>(), Some(&ReluCount(2)));
    assert!(!print(&g).contains("relu6")); // dce removed the dead relu6
    assert_eq!(cx.runs.len(), 2);
    assert!(cx.runs.iter().all(|r| r.changed));
    // Defaults: the pass with no options.
    assert_eq!(
        reg.get("tag").unwrap().default_pass().unwrap().options()[0].1,
        "x"
    );
    // A name can be registered once.
    assert!(reg.register(TAG).is_err());
}

#[test]
fn pipelines_built_in_code_run_outside_and_builtin_passes() {
    let p = Pipeline::new()
        .then(Tag { suffix: "c".into() })
        .then(tmlc_passes::passes::fuse_activation::FuseActivation);
    let mut g = parse(G).unwrap();
    let mut seen = Vec::new();
    let mut cx = PassContext::new(true);
    cx.observe(|pass, g| seen.push(format!("{pass}:{}", g.name)));
    p.run(&mut g, &mut cx).unwrap();
    drop(cx);
    assert_eq!(seen, vec!["tag:m_c", "fuse-activation:m_c"]);
}

#[test]
fn pipeline_errors_name_the_pass_and_option() {
    let reg = Registry::builtin();
    let err = |t: &str| {
        Pipeline::parse(t, &reg)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    };
    assert!(
        err("tag").starts_with("unknown pass `tag` (available: cancel-transposes, canonicalize, "),
        "{}",
        err("tag")
    );
    assert_eq!(
        err("fold-constants{max-elems=-1}"),
        "pass `fold-constants`: option `max-elems`: invalid value `-1`: invalid digit found in string"
    );
    assert_eq!(
        err("dce,,fold-constants"),
        "invalid pipeline `dce,,fold-constants`: expected a pass name"
    );
    assert_eq!(
        err("dce fold-constants"),
        "unknown pass `dce fold-constants` (available: cancel-transposes, canonicalize, collapse-reshapes, dce, equalize, fold-batchnorm, fold-bias-add, fold-channel-scale, fold-constants, fold-pad, fuse-activation, fuse-qdq, int4-weights, prune, prune-channels, quantize, quantize-weights, recover, remove-identity, softmax-last-axis, tabulate, transpose-to-reshape)"
    );
    assert!(Pipeline::parse("", &reg).unwrap().names().is_empty());
}

#[test]
fn a_pass_that_breaks_the_ir_is_named() {
    struct Breaker;
    impl Pass for Breaker {
        fn name(&self) -> &'static str {
            "breaker"
        }
        fn run(&self, g: &mut Graph, _: &mut PassContext<'_>) -> Result<Changed, PassError> {
            let y = g.outputs()[0];
            g.value_mut(y).ty.shape = vec![3];
            Ok(Changed::Yes)
        }
    }
    let mut g = parse(G).unwrap();
    let e = Pipeline::new()
        .then(Breaker)
        .run(&mut g, &mut PassContext::new(true))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("internal error: pass `breaker` broke the IR: "),
        "{e}"
    );
}
