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
          libc: String.t() | nil
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
    triple = List.to_string(:erlang.system_info(:system_architecture))
    {arch, os, libc} = parse_triple(triple)

    %__MODULE__{
      source: :"running-vm",
      otp_release: List.to_string(:erlang.system_info(:otp_release)),
      erts_version: List.to_string(:erlang.system_info(:version)),
      nif_version: List.to_string(:erlang.system_info(:nif_version)),
      arch: arch,
      os: os,
      bits: :erlang.system_info(:wordsize) * 8,
      endian: :erlang.system_info(:endian),
      libc: libc
    }
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
