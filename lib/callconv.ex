defmodule Callconv do
  @moduledoc """
  Checks a native library before the BEAM loads it: will it load on this runtime, and is it
  what it claims to be?

  callconv reads the file statically (it never loads or runs it). It decodes the format,
  architecture and dependencies, finds the NIF's `ErlNifEntry` by following `nif_init`, and
  applies rules that predict what `:erlang.load_nif/2` would say, and when it would crash the
  VM instead of saying anything.

      {:ok, report} = Callconv.check("priv/native/libmy_nif.so")
      report.verdict
      #=> :pass

  See `Callconv.Report` for what a report holds and the README for every rule id.
  """

  alias Callconv.{Native, Report, Target}

  @typedoc "A path to a `.so`, `.dylib` or `.dll`. Binaries are passed byte for byte."
  @type path :: Path.t()

  @typedoc """
  Options:

    * `:target` - a `Callconv.Target` to check against (default: `Callconv.Target.current/0`)
    * `:nif_version` - override the target's NIF version, as `"2.17"`
    * `:otp_release` - override the target's OTP release, as `"27"`
  """
  @type option ::
          {:target, Target.t()} | {:nif_version, String.t()} | {:otp_release, String.t()}

  @doc """
  Checks the library at `path`.

  Returns `{:ok, %Callconv.Report{}}` whenever the file could be read as a native library,
  whatever its verdict, and `{:error, %Callconv.Error{}}` when it could not (missing,
  unreadable, not a regular file, empty, not a native library, truncated).

  ## Examples

      iex> {:error, error} = Callconv.check("/nonexistent/libfoo.so")
      iex> error.reason
      :"not-found"

      iex> {:error, error} = Callconv.check(System.tmp_dir!())
      iex> error.reason
      :"not-regular"
  """
  @spec check(path(), [option()]) :: {:ok, Report.t()} | {:error, Callconv.Error.t()}
  def check(path, opts \\ []) do
    target = target_from_opts(opts)
    Native.check(path_binary(path), target)
  end

  @doc """
  Like `check/2`, but returns the report or raises the `Callconv.Error`.

  ## Examples

      iex> Callconv.check!("/nonexistent/libfoo.so")
      ** (Callconv.Error) could not stat /nonexistent/libfoo.so: No such file or directory (os error 2)
  """
  @spec check!(path(), [option()]) :: Report.t()
  def check!(path, opts \\ []) do
    case check(path, opts) do
      {:ok, report} -> report
      {:error, error} -> raise error
    end
  end

  @doc """
  Checks several libraries and renders one document, as `:text` or `:json` (schema v1).

  Returns `{output, summary}`, where `summary` counts the libraries `:checked`, `:passed`,
  `:warned` and `:failed` (unreadable ones count as failed). The Mix task uses this.

  ## Examples

      iex> {json, summary} = Callconv.check_document(["/nonexistent.so"], :json)
      iex> summary
      %{checked: 1, passed: 0, warned: 0, failed: 1}
      iex> json =~ ~s("schema": 1)
      true
  """
  @spec check_document([path()], :text | :json, [option()]) ::
          {String.t(),
           %{
             checked: non_neg_integer(),
             passed: non_neg_integer(),
             warned: non_neg_integer(),
             failed: non_neg_integer()
           }}
  def check_document(paths, format, opts \\ []) when format in [:text, :json] do
    target = target_from_opts(opts)

    {output, checked, passed, warned, failed} =
      Native.check_document(Enum.map(paths, &path_binary/1), target, Atom.to_string(format))

    {output, %{checked: checked, passed: passed, warned: warned, failed: failed}}
  end

  @doc """
  The calling-convention model: every convention callconv knows, or those of one architecture
  (Rust `target_arch` spelling, such as `"aarch64"`).

  ## Examples

      iex> [sysv] = Callconv.conventions("x86_64") |> Enum.filter(&(&1.id == "x86_64-sysv"))
      iex> sysv.int_args
      ["rdi", "rsi", "rdx", "rcx", "r8", "r9"]
      iex> sysv.callee_saved
      ["rbx", "rbp", "r12", "r13", "r14", "r15"]
      iex> sysv.red_zone
      128

      iex> Callconv.conventions("z80")
      []
  """
  @spec conventions(String.t() | nil) :: [Callconv.Convention.t()]
  def conventions(arch \\ nil) when is_binary(arch) or is_nil(arch) do
    Native.conventions(arch)
  end

  defp target_from_opts(opts) do
    opts = Keyword.validate!(opts, [:target, :nif_version, :otp_release])
    target = Keyword.get_lazy(opts, :target, &Target.current/0)

    Enum.reduce([:nif_version, :otp_release], target, fn key, acc ->
      case Keyword.fetch(opts, key) do
        {:ok, value} when is_binary(value) ->
          %{acc | key => value, source: :explicit}

        {:ok, value} ->
          raise ArgumentError, "#{inspect(key)} must be a string, got: #{inspect(value)}"

        :error ->
          acc
      end
    end)
  end

  defp path_binary(path) when is_binary(path), do: path
  defp path_binary(path), do: IO.chardata_to_string(path)
end
