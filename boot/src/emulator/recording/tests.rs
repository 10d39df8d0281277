use super::*;

fn joined(args: &[OsString]) -> String {
    args.iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn record_and_replay_differ_only_in_rr() {
    let rr = |direction| RecordReplay {
        direction,
        shift: 7,
        log: "/r/replay.log".into(),
    };
    assert_eq!(
        joined(&rr(Direction::Record).args()),
        "-icount shift=7,rr=record,rrfile=/r/replay.log -global apic-common.vapic=off"
    );
    assert_eq!(
        joined(&rr(Direction::Replay).args()),
        "-icount shift=7,rr=replay,rrfile=/r/replay.log -global apic-common.vapic=off"
    );
    assert_eq!(
        joined(&RecordReplay::drive_args(Path::new("/r/disk.img"))),
        "-drive file=/r/disk.img,if=none,id=img-direct,format=raw,snapshot=on \
         -drive driver=blkreplay,if=none,image=img-direct,id=img-blkreplay \
         -device ide-hd,drive=img-blkreplay"
    );
}

/// A recording of fake files in a fresh directory, made with this
/// machine's QEMU (its version is part of the manifest).
fn fake_recording(dir: &Path) -> Recording {
    let src = dir.join("src");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(src.join("kernel"), b"elf").unwrap();
    std::fs::write(src.join("kernel.bios.img"), b"image").unwrap();
    let qemu = crate::discover::find_qemu().unwrap();
    let rec_dir = dir.join("rec");
    let mut recording = Recording::create(
        &rec_dir,
        &qemu,
        &src.join("kernel"),
        &src.join("kernel.bios.img"),
        &Firmware::Bios,
        &[],
    )
    .unwrap();
    std::fs::write(rec_dir.join(LOG), b"log").unwrap();
    recording.finish(Some(33)).unwrap();
    recording
}

#[test]
fn a_recording_opens_until_a_file_changes() {
    let dir = tempfile::tempdir().unwrap();
    let recording = fake_recording(dir.path());
    let qemu = crate::discover::find_qemu().unwrap();
    let rec_dir = dir.path().join("rec");
    let opened = Recording::open(&rec_dir, &qemu, None, false).unwrap();
    assert_eq!(opened.manifest, recording.manifest);
    assert_eq!(opened.firmware(), Firmware::Bios);
    assert_eq!(opened.image(), rec_dir.join(IMAGE));

    let err = Recording::open(&rec_dir, &qemu, None, true).unwrap_err();
    assert_eq!(err.code, crate::error::EXIT_USAGE);
    assert!(
        err.message.starts_with("--uefi, but the recording"),
        "{}",
        err.message
    );

    let other = dir.path().join("other");
    std::fs::write(&other, b"another elf").unwrap();
    let err = Recording::open(&rec_dir, &qemu, Some(&other), false).unwrap_err();
    assert!(
        err.message.contains("was made for another kernel"),
        "{}",
        err.message
    );
    let same = dir.path().join("src/kernel");
    Recording::open(&rec_dir, &qemu, Some(&same), false).unwrap();

    std::fs::write(rec_dir.join(IMAGE), b"imagE").unwrap();
    let err = Recording::open(&rec_dir, &qemu, None, false).unwrap_err();
    assert_eq!(err.code, crate::error::EXIT_USAGE);
    assert!(
        err.message
            .contains("disk.img has changed since it was recorded"),
        "{}",
        err.message
    );
}

#[test]
fn a_manifest_names_only_files_inside_the_recording() {
    let dir = tempfile::tempdir().unwrap();
    let recording = fake_recording(dir.path());
    let qemu = crate::discover::find_qemu().unwrap();
    let rec_dir = dir.path().join("rec");
    // The recorded image, outside the recording: its hash matches, so
    // only its name can have it refused.
    let outside = dir.path().join("outside.img");
    std::fs::copy(rec_dir.join(IMAGE), &outside).unwrap();
    let other = dir.path().join("other.img");
    std::fs::write(&other, b"not the image").unwrap();
    let open_with_image = |file: &str| {
        let mut manifest = recording.manifest.clone();
        manifest.image.file = file.into();
        let text = serde_json::to_string(&manifest).unwrap();
        std::fs::write(rec_dir.join(MANIFEST), text).unwrap();
        Recording::open(&rec_dir, &qemu, None, false)
    };
    let refused = |file: &str, why: &str| {
        let err = open_with_image(file).unwrap_err();
        assert_eq!(
            err.code,
            crate::error::EXIT_USAGE,
            "{file}: {}",
            err.message
        );
        assert!(
            err.message
                .contains(&format!("names {file:?} as its image"))
                && err.message.contains(why),
            "{file}: {}",
            err.message
        );
        assert_eq!(err.message.lines().count(), 1, "{}", err.message);
    };
    let outside_path = outside.to_str().unwrap();
    let other_path = other.to_str().unwrap();
    for file in [
        "../outside.img",
        "../rec/disk.img",
        outside_path,
        // Refused for its name, before its hash could differ.
        "../other.img",
        other_path,
        "sub/disk.img",
        "./disk.img",
        "..",
        ".",
        "",
        "disk.img\0",
    ] {
        refused(file, "not a plain file name");
    }
    open_with_image(IMAGE).unwrap();

    // A symlink in the recording that leads out of it.
    std::fs::remove_file(rec_dir.join(IMAGE)).unwrap();
    std::os::unix::fs::symlink(&outside, rec_dir.join(IMAGE)).unwrap();
    refused(IMAGE, "leads out of the recording");
    // One that stays inside is a file of the recording.
    std::fs::remove_file(rec_dir.join(IMAGE)).unwrap();
    std::fs::copy(&outside, rec_dir.join("image.copy")).unwrap();
    std::os::unix::fs::symlink("image.copy", rec_dir.join(IMAGE)).unwrap();
    open_with_image(IMAGE).unwrap();
}

#[test]
fn a_replay_notes_a_kernel_rebuilt_since_the_recording() {
    let dir = tempfile::tempdir().unwrap();
    let recording = fake_recording(dir.path());
    assert_eq!(recording.rebuilt_since(), None, "recording, not replaying");
    let qemu = crate::discover::find_qemu().unwrap();
    let open = || Recording::open(&dir.path().join("rec"), &qemu, None, false).unwrap();
    assert_eq!(open().rebuilt_since(), None, "the same kernel");
    let source = dir.path().join("src/kernel");
    std::fs::write(&source, b"elf, rebuilt").unwrap();
    let note = open().rebuilt_since().expect("a note");
    assert!(
        note.contains(&format!(
            "{} has changed since this recording",
            source.display()
        )),
        "{note}"
    );
    assert!(note.contains("this replays the recorded kernel"), "{note}");
    std::fs::remove_file(&source).unwrap();
    assert_eq!(open().rebuilt_since(), None, "nothing to compare with");
}

#[test]
fn an_unfinished_recording_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut recording = fake_recording(dir.path());
    recording.finish(None).unwrap();
    let qemu = crate::discover::find_qemu().unwrap();
    let err = Recording::open(&dir.path().join("rec"), &qemu, None, false).unwrap_err();
    assert!(err.message.contains("is incomplete"), "{}", err.message);
}

#[test]
fn record_refuses_a_directory_that_holds_something_else() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"mine").unwrap();
    let err = prepare_dir(dir.path()).unwrap_err();
    assert_eq!(err.code, crate::error::EXIT_USAGE);
    assert!(
        err.message.contains("is not empty and holds no recording"),
        "{}",
        err.message
    );
    // An earlier recording may be replaced, and a new directory is made.
    let dir = tempfile::tempdir().unwrap();
    fake_recording(dir.path());
    prepare_dir(&dir.path().join("rec")).unwrap();
    prepare_dir(&dir.path().join("new/sub")).unwrap();
}

#[test]
fn serial_ports_must_match() {
    let dir = tempfile::tempdir().unwrap();
    let mut recording = fake_recording(dir.path());
    let two: Vec<OsString> = ["-serial", "stdio", "-serial", "file:x"]
        .map(Into::into)
        .into();
    recording.serial_ports(&two).unwrap();
    recording.finish(Some(33)).unwrap();
    let qemu = crate::discover::find_qemu().unwrap();
    let mut replay = Recording::open(&dir.path().join("rec"), &qemu, None, false).unwrap();
    replay.serial_ports(&two).unwrap();
    let three: Vec<OsString> = [&two[..], &["-serial".into(), "null".into()]].concat();
    let err = replay.serial_ports(&three).unwrap_err();
    assert!(
        err.message.contains("has 3 serial ports"),
        "{}",
        err.message
    );
}

#[test]
fn a_different_end_is_a_divergence() {
    let dir = tempfile::tempdir().unwrap();
    fake_recording(dir.path());
    let qemu = crate::discover::find_qemu().unwrap();
    let mut replay = Recording::open(&dir.path().join("rec"), &qemu, None, false).unwrap();
    replay.end(&End::of_qemu_status(33)).unwrap();
    let err = replay.end(&End::of_qemu_status(35)).unwrap_err();
    assert!(
        err.message.contains("the replay diverged"),
        "{}",
        err.message
    );
}
