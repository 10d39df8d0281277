//! What the kernel runs under, as CPUID reports it: QEMU's emulation (TCG),
//! KVM, another hypervisor, or none reported.
//!
//! Why: the cycles-per-switch figure is rdtsc readings, and what they mean
//! depends on who runs the code. Under TCG the counter ticks with QEMU's
//! emulation, not with the hardware; under KVM the code runs on the CPU and
//! the figure is a hardware one. CPUID leaf 1 has a "hypervisor present"
//! bit (ECX bit 31), and hypervisors that set it answer leaf `0x4000_0000`
//! with a 12-byte signature in EBX, ECX, EDX. An emulator may also leave the
//! bit clear (Bochs can), so a clear bit only says that CPUID reports no
//! hypervisor, not that this is real hardware.

use core::arch::x86_64::__cpuid;
use core::fmt;

/// Who runs the kernel, by CPUID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hypervisor {
    /// QEMU's software emulation, signature `TCGTCGTCGTCG`.
    QemuTcg,
    /// KVM, signature `KVMKVMKVM\0\0\0`.
    Kvm,
    /// Another hypervisor, by its signature.
    Other(Signature),
    /// The hypervisor bit is clear.
    NoneReported,
}

/// The 12 bytes of a hypervisor's CPUID signature (EBX, ECX, EDX of leaf
/// `0x4000_0000`), e.g. `VMwareVMware`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signature(pub [u8; 12]);

/// The hypervisor-present bit of CPUID leaf 1's ECX.
const HYPERVISOR_PRESENT: u32 = 1 << 31;
/// The leaf a hypervisor answers with its signature.
const HYPERVISOR_LEAF: u32 = 0x4000_0000;

/// Asks CPUID who runs the kernel.
pub fn detect() -> Hypervisor {
    // Leaf 1 exists on every x86_64 CPU.
    if __cpuid(1).ecx & HYPERVISOR_PRESENT == 0 {
        return Hypervisor::NoneReported;
    }
    // With the bit set, the hypervisor's leaves answer: read the signature.
    let leaf = __cpuid(HYPERVISOR_LEAF);
    // The signature's bytes in EBX, ECX, EDX order, each register's low
    // byte first.
    let [b, c, d] = [leaf.ebx, leaf.ecx, leaf.edx].map(u32::to_le_bytes);
    let bytes = [
        b[0], b[1], b[2], b[3], c[0], c[1], c[2], c[3], d[0], d[1], d[2], d[3],
    ];
    Hypervisor::from_signature(Signature(bytes))
}

impl Hypervisor {
    /// The hypervisor that answers with `signature`.
    pub fn from_signature(signature: Signature) -> Self {
        match &signature.0 {
            b"TCGTCGTCGTCG" => Hypervisor::QemuTcg,
            b"KVMKVMKVM\0\0\0" => Hypervisor::Kvm,
            _ => Hypervisor::Other(signature),
        }
    }

    /// What a TSC figure measured under it is, for the cycles-per-switch
    /// line: e.g. `EMULATED by QEMU TCG, not a hardware figure`.
    pub fn tsc_figure(self) -> impl fmt::Display {
        struct Figure(Hypervisor);
        impl fmt::Display for Figure {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.0 {
                    Hypervisor::QemuTcg => {
                        f.write_str("EMULATED by QEMU TCG, not a hardware figure")
                    }
                    Hypervisor::Kvm => f.write_str("a hardware figure, under KVM"),
                    // QEMU with `-cpu ...,tcg-cpuid=off`, for one.
                    Hypervisor::Other(Signature(bytes)) if bytes == [0; 12] => f.write_str(
                        "under a hypervisor that gives no CPUID signature: emulated or not, CPUID does not say",
                    ),
                    Hypervisor::Other(signature) => write!(
                        f,
                        "under a hypervisor with CPUID signature \"{signature}\": emulated or not, CPUID does not say"
                    ),
                    Hypervisor::NoneReported => f.write_str("no hypervisor reported by CPUID"),
                }
            }
        }
        Figure(self)
    }
}

impl fmt::Display for Signature {
    /// The printable ASCII bytes as they are, any other byte as `\xNN`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &byte in &self.0 {
            if byte.is_ascii_graphic() || byte == b' ' {
                write!(f, "{}", byte as char)?;
            } else {
                write!(f, "\\x{byte:02x}")?;
            }
        }
        Ok(())
    }
}
