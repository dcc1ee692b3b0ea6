//! Replays every committed fuzz input (`fuzz/corpus/<target>/` and `fuzz/regressions/<target>/`)
//! through its target's function on the stable toolchain, so CI checks them in `cargo test`
//! without libFuzzer. Inputs listed in `fuzz/regressions/KNOWN_OPEN` are findings whose fix is
//! not merged yet (some abort the process or run for minutes), so they are listed, not run;
//! remove a line when its fix lands.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a test tells whoever runs it what it skipped or measured"
)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use watchtower_fuzz_replay::TARGETS;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// The known-open regression inputs, as paths relative to `fuzz/` (`#` starts a comment).
fn known_open() -> BTreeSet<String> {
    let text = std::fs::read_to_string(fuzz_dir().join("regressions/KNOWN_OPEN"))
        .expect("fuzz/regressions/KNOWN_OPEN exists");
    text.lines()
        .map(|line| line.split('#').next().unwrap_or_default().trim())
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

fn inputs(folder: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("a readable folder").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_corpus_and_regression_input_passes_its_target() {
    let skipped = known_open();
    let mut replayed = 0;
    for (target, run) in TARGETS {
        let corpus = inputs(&fuzz_dir().join("corpus").join(target));
        assert!(!corpus.is_empty(), "fuzz/corpus/{target} has no seeds");
        for path in corpus
            .iter()
            .chain(&inputs(&fuzz_dir().join("regressions").join(target)))
        {
            let relative = path
                .strip_prefix(fuzz_dir())
                .expect("under fuzz/")
                .to_string_lossy()
                .into_owned();
            if skipped.contains(&relative) {
                eprintln!("not replayed (known open, see fuzz/regressions/KNOWN_OPEN): {relative}");
                continue;
            }
            let data = std::fs::read(path).expect("a readable input");
            eprintln!("replaying {relative}");
            run(&data);
            replayed += 1;
        }
    }
    assert!(replayed >= TARGETS.len(), "replayed only {replayed} inputs");
}

#[test]
fn every_known_open_input_exists_and_every_target_has_a_fuzz_target() {
    for relative in known_open() {
        assert!(
            fuzz_dir().join(&relative).is_file(),
            "KNOWN_OPEN lists {relative}, which does not exist"
        );
    }
    for (target, _) in TARGETS {
        let source = fuzz_dir().join("fuzz_targets").join(format!("{target}.rs"));
        assert!(source.is_file(), "no fuzz/fuzz_targets/{target}.rs");
    }
}

/// Runs the one input `WATCHTOWER_FUZZ_INPUT` names (relative to `fuzz/`, known open or not), to
/// check a fix: `WATCHTOWER_FUZZ_INPUT=regressions/templates/x cargo test -p
/// watchtower-fuzz-replay --test replay one_input`. Does nothing when the variable is unset.
#[test]
fn one_input() {
    let Ok(relative) = std::env::var("WATCHTOWER_FUZZ_INPUT") else {
        return;
    };
    let target = Path::new(&relative)
        .parent()
        .and_then(Path::file_name)
        .and_then(|name| name.to_str())
        .expect("a path like regressions/<target>/<file>");
    let (_, run) = TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .unwrap_or_else(|| panic!("no target named {target}"));
    run(&std::fs::read(fuzz_dir().join(&relative)).expect("a readable input"));
}
