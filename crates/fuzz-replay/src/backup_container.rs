//! The backup file reader (`watchtower verify` and `restore` parse files a user hands them):
//! any bytes either fail with a `ContainerError` or give a manifest that passes its checks and
//! reads back the same once written; checking and unpacking the payload never write more than
//! the manifest declares (plus the one byte that tells "more").

use std::io::Write;
use watchtower_backup::container::{check_payload, read_manifest, unpack_payload, write_manifest};

pub fn run(data: &[u8]) {
    if data.len() > crate::MAX_INPUT_BYTES {
        return;
    }
    let mut rest = data;
    let Ok(manifest) = read_manifest(&mut rest) else {
        return;
    };
    let mut written = Vec::new();
    write_manifest(&mut written, &manifest).expect("writing to memory");
    let reread = read_manifest(&mut written.as_slice()).expect("a written manifest reads back");
    assert_eq!(reread, manifest, "write -> read changed the manifest");

    let checked = check_payload(&mut { rest }, &manifest);
    let mut out = CountingSink::default();
    let unpacked = unpack_payload(&mut { rest }, &manifest, &mut out);
    assert!(
        out.bytes <= manifest.payload.uncompressed_bytes.saturating_add(1),
        "unpacking wrote {} bytes past the declared {}",
        out.bytes,
        manifest.payload.uncompressed_bytes
    );
    if let Ok(written) = unpacked {
        assert!(checked.is_ok(), "unpacked a payload whose check failed");
        assert_eq!(written, manifest.payload.uncompressed_bytes);
    }
}

/// Counts what it is given and keeps nothing, so a large declared size costs no memory.
#[derive(Default)]
struct CountingSink {
    bytes: u64,
}

impl Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.bytes += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
