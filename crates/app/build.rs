//! Puts the commit the binary is built from into `watchtower --version`: the `WATCHTOWER_COMMIT`
//! environment variable when set (a container build has no `.git`), else `git rev-parse`, else
//! "unknown commit". Cargo reruns this only when the checked-out commit changes.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=WATCHTOWER_COMMIT");
    let commit = std::env::var("WATCHTOWER_COMMIT")
        .ok()
        .map(|commit| commit.trim().to_owned())
        .filter(|commit| !commit.is_empty())
        .or_else(git_commit)
        .unwrap_or_else(|| "unknown commit".to_owned());
    println!("cargo:rustc-env=WATCHTOWER_COMMIT={commit}");
}

/// The short hash of HEAD, watching the files that change when HEAD moves.
fn git_commit() -> Option<String> {
    let commit = git(&["rev-parse", "--short=12", "HEAD"])?;
    // Only files that exist: a missing one would make Cargo rerun this on every build.
    let watch = |path: &str| {
        if Path::new(path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    };
    if let Some(dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        watch(&format!("{dir}/HEAD"));
    }
    if let (Some(common), Some(branch)) = (
        git(&["rev-parse", "--path-format=absolute", "--git-common-dir"]),
        git(&["symbolic-ref", "-q", "HEAD"]),
    ) {
        watch(&format!("{common}/{branch}"));
        watch(&format!("{common}/packed-refs"));
    }
    Some(commit)
}

fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    (output.status.success() && !text.trim().is_empty()).then(|| text.trim().to_owned())
}
