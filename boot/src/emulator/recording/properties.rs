use super::*;
use proptest::prelude::*;
use serde_json::Value;

/// Stands in for QEMU: it answers `--version` at once. The version is
/// recorded and compared, and is not what these tests are about.
const QEMU: &str = "/bin/echo";

/// A recording of small files, made once for all the cases of a test.
fn recording() -> (tempfile::TempDir, PathBuf, String) {
    let dir = tempfile::tempdir().unwrap();
    let elf = dir.path().join("kernel");
    let image = dir.path().join("kernel.bios.img");
    std::fs::write(&elf, b"elf").unwrap();
    std::fs::write(&image, b"image").unwrap();
    let rec = dir.path().join("rec");
    let mut recording =
        Recording::create(&rec, Path::new(QEMU), &elf, &image, &Firmware::Bios, &[]).unwrap();
    std::fs::write(rec.join(LOG), b"log").unwrap();
    recording.finish(Some(33)).unwrap();
    let manifest = std::fs::read_to_string(rec.join(MANIFEST)).unwrap();
    (dir, rec, manifest)
}

/// Opens the recording in `rec` with `manifest` as its manifest.
fn opens_or_says_why(rec: &Path, manifest: &[u8]) -> Result<(), TestCaseError> {
    std::fs::write(rec.join(MANIFEST), manifest).unwrap();
    if let Err(failure) = Recording::open(rec, Path::new(QEMU), None, false) {
        prop_assert_eq!(
            failure.code,
            crate::error::EXIT_USAGE,
            "{}",
            failure.message
        );
        prop_assert!(!failure.message.contains('\n'), "{}", failure.message);
    }
    Ok(())
}

/// A JSON value, often one a manifest field could hold.
fn a_value() -> impl Strategy<Value = Value> {
    const NAMES: [&str; 12] = [
        "disk.img",
        "kernel.elf",
        "..",
        ".",
        "",
        "../rec/disk.img",
        "/etc/passwd",
        "sub/disk.img",
        "replay.log",
        "manifest.json",
        "BIOS",
        "UEFI",
    ];
    prop_oneof![
        prop::sample::select(&NAMES[..]).prop_map(Value::from),
        any::<String>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
        Just(Value::Array(vec![])),
        Just(serde_json::json!({"file": "disk.img", "from": "/x", "sha256": "00"})),
    ]
}

#[test]
fn any_bytes_open_or_are_refused_in_one_line() {
    let (_dir, rec, _) = recording();
    proptest!(|(bytes in any::<Vec<u8>>())| {
        opens_or_says_why(&rec, &bytes)?;
    });
}

#[test]
fn a_manifest_edited_as_text_opens_or_is_refused_in_one_line() {
    let (_dir, rec, manifest) = recording();
    proptest!(|(cut in 0.0..1.0f64, at in 0.0..1.0f64, insert in any::<char>())| {
        let mut text: Vec<char> = manifest.chars().collect();
        let place = |at: f64| (text.len() as f64 * at) as usize;
        let (at, cut) = (place(at), place(cut));
        text.insert(at, insert);
        text.truncate(cut.max(at + 1));
        let text: String = text.into_iter().collect();
        opens_or_says_why(&rec, text.as_bytes())?;
    });
}

#[test]
fn a_manifest_with_any_value_in_a_field_opens_or_is_refused_in_one_line() {
    const FIELDS: [&str; 15] = [
        "format",
        "qemu",
        "firmware",
        "shift",
        "serial_ports",
        "kernel",
        "image",
        "firmware_files",
        "qemu_args",
        "status",
        "kernel.file",
        "image.file",
        "image.sha256",
        "image.from",
        "firmware_files.0",
    ];
    let (_dir, rec, manifest) = recording();
    let manifest: Value = serde_json::from_str(&manifest).unwrap();
    proptest!(|(field in prop::sample::select(&FIELDS[..]), value in a_value())| {
        let mut manifest = manifest.clone();
        let (key, inner) = field.split_once('.').map_or((field, None), |(k, i)| (k, Some(i)));
        match inner {
            None => manifest[key] = value,
            Some(inner) => match &mut manifest[key] {
                Value::Array(items) => items.push(value),
                object => object[inner] = value,
            },
        }
        opens_or_says_why(&rec, manifest.to_string().as_bytes())?;
    });
}
