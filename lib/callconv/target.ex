defmodule Callconv.Target do
  @moduledoc """
  The runtime a library is checked against.

  `current/0` describes the VM callconv runs in. Fields that are `nil` are unknown, and the
  rules that need them stay silent.

    * `:source` - `:"running-vm"`, `:host` or `:explicit`
    * `:otp_release`, `:erts_version`, `:nif_version` - strings such as `"25"`, `"13.1.5"`, `"2.16"`
    * `:arch` - Rust `target_arch` spelling, such as `:x86_64`
    * `:os` - `"linux"`, `"macos"`, `"windows"`, `"freebsd"`, ...
    * `:bits` - 32 or 64
    * `:endian` - `:little` or `:big`
    * `:libc` - `"gnu"`, `"musl"`, ... or `nil`
    * `:libc_version` - such as `"2.36"` for glibc, or `nil`
    * `:abi_variant` - the runtime's ABI variant as its `beam.smp` spells it, or `nil`
    * `:os_version` - the oldest OS version it must run on, such as `"13.0"` (macOS only:
      from a triple such as `aarch64-apple-macosx13.0`, or the `:min_os` option), or `nil`
    * `:cpu` - the oldest CPU the target runs, by the name compilers take (`"cortex-a53"`,
      `"arm1176jzf-s"`, `"rv64gc"`, `"power9"`, `"z14"`, `"mips64r6"`, `"x86-64-v3"`), for
      the `isa-level` rule: set by `with_cpu/2` (the `:cpu` option), or the CPU a triple names
      (`riscv64gc-...`, `mipsisa64r6el-...`); `nil` when none is named
    * `:enif_exports` - the exact `enif_*` symbols the runtime exports (read from its
      `beam.smp`, or from the built-in table for an OTP release), or `nil` when unknown
    * `:vm_exports` - the other functions and objects its `beam.smp` exports (no `enif_*`,
      no C++ names), which a NIF's own exports can be interposed by: one binary, one name per
      line, sorted (a list would cost more to pass to the NIF than the check), or `nil`
    * `:vm_bind_now` - whether its `beam.smp` is linked with BIND_NOW (full RELRO), or `nil`
  """

  @enforce_keys [:arch, :os, :bits, :endian]
  defstruct [
    :otp_release,
    :erts_version,
    :nif_version,
    :arch,
    :os,
    :bits,
    :endian,
    :libc,
    :libc_version,
    :abi_variant,
    :os_version,
    :cpu,
    :enif_exports,
    :vm_exports,
    :vm_bind_now,
    source: :explicit
  ]

  @type t :: %__MODULE__{
          source: :"running-vm" | :host | :explicit,
          otp_release: String.t() | nil,
          erts_version: String.t() | nil,
          nif_version: String.t() | nil,
          arch: atom(),
          os: String.t(),
          bits: 32 | 64,
          endian: :little | :big,
          libc: String.t() | nil,
          libc_version: String.t() | nil,
          abi_variant: String.t() | nil,
          os_version: String.t() | nil,
          cpu: String.t() | nil,
          enif_exports: [String.t()] | nil,
          vm_exports: String.t() | nil,
          vm_bind_now: boolean() | nil
        }

  @doc """
  The runtime callconv is running in.

  ## Examples

      iex> target = Callconv.Target.current()
      iex> target.nif_version == List.to_string(:erlang.system_info(:nif_version))
      true
      iex> target.source
      :"running-vm"
  """
  @spec current() :: t()
  def current do
    # Reading beam.smp's exports costs a few milliseconds: do it once per VM.
    case :persistent_term.get({__MODULE__, :current}, nil) do
      nil ->
        target = describe_running_vm()
        :persistent_term.put({__MODULE__, :current}, target)
        target

      target ->
        target
    end
  end

  defp describe_running_vm do
    triple = List.to_string(:erlang.system_info(:system_architecture))
    {arch, os, libc} = parse_triple(triple)
    erts_version = List.to_string(:erlang.system_info(:version))
    erts_dir = Path.join(List.to_string(:code.root_dir()), "erts-" <> erts_version)

    erts =
      case Callconv.Native.read_erts(erts_dir) do
        {:ok, erts} -> erts
        {:error, _} -> %{enif_exports: nil, abi_variant: nil, vm_exports: nil, vm_bind_now: nil}
      end

    %__MODULE__{
      source: :"running-vm",
      otp_release: List.to_string(:erlang.system_info(:otp_release)),
      erts_version: erts_version,
      nif_version: List.to_string(:erlang.system_info(:nif_version)),
      arch: arch,
      os: os,
      bits: :erlang.system_info(:wordsize) * 8,
      endian: :erlang.system_info(:endian),
      libc: libc,
      libc_version: if(libc == "gnu", do: Callconv.Native.host_libc_version()),
      abi_variant: erts.abi_variant,
      enif_exports: erts.enif_exports,
      vm_exports: erts.vm_exports,
      vm_bind_now: erts.vm_bind_now
    }
  end

  @doc """
  The runtime of an ERTS directory: an `erts-X.Y.Z` directory, or a release or OTP root that
  holds one. Its `beam.smp` is read (never run) for architecture, libc and the exact `enif_*`
  exports; the versions come from the directory name through the built-in OTP table.

  ## Examples

      iex> {:ok, target} = Callconv.Target.from_erts(:code.root_dir())
      iex> target.nif_version == List.to_string(:erlang.system_info(:nif_version))
      true
      iex> "enif_make_atom" in target.enif_exports
      true
  """
  @spec from_erts(Path.t()) :: {:ok, t()} | {:error, Callconv.Error.t()}
  def from_erts(dir), do: Callconv.Native.read_erts(IO.chardata_to_string(dir))

  @doc """
  `target` changed to run OTP release `otp` (21 to 29), from the built-in table of NIF versions
  and `enif_*` functions per release.

  ## Examples

      iex> {:ok, otp27} = Callconv.Target.with_otp(Callconv.Target.current(), 27)
      iex> {otp27.nif_version, otp27.erts_version, "enif_set_option" in otp27.enif_exports}
      {"2.17", "15.0", true}
      iex> Callconv.Target.with_otp(Callconv.Target.current(), 19)
      {:error, "OTP 19 is not in the built-in table (it knows 21..29)"}
  """
  @spec with_otp(t(), pos_integer()) :: {:ok, t()} | {:error, String.t()}
  def with_otp(%__MODULE__{} = target, otp) when is_integer(otp) and otp > 0 do
    Callconv.Native.target_with_otp(target, otp)
  end

  @doc """
  `target` moved to the platform of a target triple: architecture, word size, byte order, OS,
  C library and ABI variant come from the triple (Rust's and GNU's spellings); the OTP, ERTS
  and NIF versions stay. What only a real `beam.smp` tells (the C library's version, its other
  exports) is dropped, and the source becomes `:explicit`. When the word size or the OS
  changes, `:enif_exports` comes from the built-in table for the new platform: the four
  `*int64` functions are symbols on 32-bit Unix and Windows, macros on 64-bit Unix.

  ## Examples

      iex> {:ok, t} = Callconv.Target.for_triple(Callconv.Target.current(), "armv7-unknown-linux-gnueabihf")
      iex> {t.arch, t.bits, t.endian, t.libc, t.abi_variant, t.source}
      {:arm, 32, :little, "gnu", "eabi5-hard-float", :explicit}
      iex> "enif_get_int64" in t.enif_exports
      true
      iex> {:error, message} = Callconv.Target.for_triple(Callconv.Target.current(), "z80-unknown-none")
      iex> message =~ "not a target triple callconv knows"
      true
  """
  @spec for_triple(t(), String.t()) :: {:ok, t()} | {:error, String.t()}
  def for_triple(%__MODULE__{} = target, triple) when is_binary(triple) do
    Callconv.Native.target_for_triple(target, triple)
  end

  @doc """
  `target` with its CPU set to `cpu`, the oldest CPU the target runs, so that code needing
  more (an instruction the CPU lacks raises SIGILL and kills the VM) is an `isa-level` error.
  The name is checked against the target's architecture; the error says why and lists the
  names callconv knows. The source stays.

  ## Examples

      iex> {:ok, t} = Callconv.Target.for_triple(Callconv.Target.current(), "aarch64-unknown-linux-gnu")
      iex> {:ok, t} = Callconv.Target.with_cpu(t, "cortex-a53")
      iex> t.cpu
      "cortex-a53"
      iex> {:error, message} = Callconv.Target.with_cpu(t, "z14")
      iex> message =~ "a CPU for s390x, not for aarch64"
      true
      iex> {:ok, rv} = Callconv.Target.for_triple(Callconv.Target.current(), "riscv64gc-unknown-linux-gnu")
      iex> rv.cpu
      "rv64gc"
  """
  @spec with_cpu(t(), String.t()) :: {:ok, t()} | {:error, String.t()}
  def with_cpu(%__MODULE__{} = target, cpu) when is_binary(cpu) do
    Callconv.Native.target_with_cpu(target, cpu)
  end

  @doc """
  Splits a GNU-style triple (as `:erlang.system_info(:system_architecture)` gives it) into
  `{arch, os, libc}`.

  ## Examples

      iex> Callconv.Target.parse_triple("x86_64-pc-linux-gnu")
      {:x86_64, "linux", "gnu"}
      iex> Callconv.Target.parse_triple("aarch64-apple-darwin23.1.0")
      {:aarch64, "macos", "macos"}
      iex> Callconv.Target.parse_triple("x86_64-alpine-linux-musl")
      {:x86_64, "linux", "musl"}
      iex> Callconv.Target.parse_triple("win32")
      {:x86_64, "windows", "msvc"}
  """
  @spec parse_triple(String.t()) :: {atom(), String.t(), String.t() | nil}
  def parse_triple("win32"), do: {:x86_64, "windows", "msvc"}

  def parse_triple(triple) do
    [cpu | rest] = String.split(triple, "-")
    rest = Enum.join(rest, "-")

    os =
      cond do
        rest =~ "linux" -> "linux"
        rest =~ "darwin" -> "macos"
        rest =~ "freebsd" -> "freebsd"
        rest =~ "netbsd" -> "netbsd"
        rest =~ "openbsd" -> "openbsd"
        rest =~ ~r/mingw|windows|win32/ -> "windows"
        rest =~ "solaris" -> "solaris"
        true -> "unknown"
      end

    libc =
      cond do
        rest =~ "musl" -> "musl"
        rest =~ "android" -> "bionic"
        rest =~ "gnu" -> "gnu"
        os == "macos" -> "macos"
        true -> nil
      end

    {arch(cpu), os, libc}
  end

  @arches %{
    "x86_64" => :x86_64,
    "amd64" => :x86_64,
    "i386" => :x86,
    "i486" => :x86,
    "i586" => :x86,
    "i686" => :x86,
    "aarch64" => :aarch64,
    "arm64" => :aarch64,
    "riscv64" => :riscv64,
    "riscv32" => :riscv32,
    "powerpc64" => :powerpc64,
    "powerpc64le" => :powerpc64,
    "powerpc" => :powerpc,
    "mips" => :mips,
    "mipsel" => :mips,
    "mips64" => :mips64,
    "mips64el" => :mips64,
    "sparc64" => :sparc64,
    "sparc" => :sparc,
    "s390x" => :s390x,
    "loongarch64" => :loongarch64
  }

  defp arch(cpu) do
    cond do
      Map.has_key?(@arches, cpu) -> Map.fetch!(@arches, cpu)
      String.starts_with?(cpu, "arm") -> :arm
      true -> :unknown
    end
  end
end
