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

  @option_keys [:target, :erts, :otp_release, :nif_version, :module, :functions, :probe]

  @typedoc "A path to a `.so`, `.dylib` or `.dll`. Binaries are passed byte for byte."
  @type path :: Path.t()

  @typedoc """
  Options:

    * `:target` - a `Callconv.Target` to check against (default: `Callconv.Target.current/0`,
      the running VM, with the exact `enif_*` symbols its `beam.smp` exports)
    * `:erts` - check against the runtime of this ERTS directory (a release's `erts-X.Y.Z`,
      or an OTP root) instead
    * `:otp_release` - check against this OTP release (21 to 29, as `"27"` or `27`) from the
      built-in table of NIF versions and `enif_*` functions
    * `:nif_version` - override the target's NIF version, as `"2.17"`
    * `:module` - the module that will call `load_nif/2`: the library must then be a NIF for
      exactly that module (rules `not-a-nif` as an error, `nif-module-mismatch`)
    * `:functions` - that module's functions as `{name, arity}`: every NIF must be one of
      them (rule `nif-function-not-in-module`); given `:module` alone, the module's own
      functions are used when it is loaded
    * `:probe` - `true` to also run the library's `nif_init` in a separate, short-lived OS
      process with stub `enif_*` symbols and resource limits (never inside the VM), and
      compare the entry it returns with the static decode (rules `nif-probe-mismatch`,
      `nif-probe-failed`). Host architecture only. Off by default: without it callconv never
      executes anything from the library.
  """
  @type option ::
          {:target, Target.t()}
          | {:erts, Path.t()}
          | {:otp_release, String.t() | pos_integer()}
          | {:nif_version, String.t()}
          | {:module, module() | String.t()}
          | {:functions, [{atom() | String.t(), arity()}]}
          | {:probe, boolean()}

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
    opts = Keyword.validate!(opts, @option_keys)

    with {:ok, target} <- target_from_opts(opts) do
      {module, functions} = module_from_opts(opts)
      probe = if opts[:probe] == true, do: Native.executable()
      Native.check(path_binary(path), target, module, functions, probe)
    end
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
    opts = Keyword.validate!(opts, @option_keys)

    target =
      case target_from_opts(opts) do
        {:ok, target} -> target
        {:error, error} -> raise error
      end

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
    base =
      case {Keyword.fetch(opts, :target), Keyword.fetch(opts, :erts)} do
        {{:ok, %Target{} = target}, _} ->
          {:ok, target}

        {{:ok, other}, _} ->
          raise ArgumentError, ":target must be a Callconv.Target, got: #{inspect(other)}"

        {:error, {:ok, dir}} ->
          Target.from_erts(dir)

        {:error, :error} ->
          {:ok, Target.current()}
      end

    with {:ok, target} <- base, {:ok, target} <- apply_otp(target, opts[:otp_release]) do
      case opts[:nif_version] do
        nil ->
          {:ok, target}

        v when is_binary(v) ->
          {:ok, %{target | nif_version: v, source: :explicit}}

        v ->
          raise ArgumentError,
                ":nif_version must be a string such as \"2.17\", got: #{inspect(v)}"
      end
    end
  end

  defp apply_otp(target, nil), do: {:ok, target}

  defp apply_otp(target, otp) when is_binary(otp) do
    case Integer.parse(otp) do
      {n, ""} ->
        apply_otp(target, n)

      _ ->
        raise ArgumentError,
              ":otp_release must be an OTP major release such as \"27\", got: #{inspect(otp)}"
    end
  end

  defp apply_otp(target, otp) when is_integer(otp) do
    case Target.with_otp(target, otp) do
      {:ok, target} -> {:ok, target}
      {:error, message} -> raise ArgumentError, message
    end
  end

  defp module_from_opts(opts) do
    module = opts[:module]
    name = module && module_name(module)

    functions =
      case {opts[:functions], module} do
        {nil, mod} when is_atom(mod) and mod != nil -> loaded_functions(mod)
        {nil, _} -> nil
        {fs, _} -> Enum.map(fs, fn {f, a} -> {to_string(f), a} end)
      end

    {name, functions}
  end

  defp module_name(module) when is_atom(module), do: Atom.to_string(module)
  defp module_name(module) when is_binary(module), do: module

  # Works inside the module's own @on_load too: its code is in place by then.
  defp loaded_functions(module) do
    if :erlang.module_loaded(module) do
      for {f, a} <- :erlang.get_module_info(module, :functions), do: {Atom.to_string(f), a}
    end
  end

  defp path_binary(path) when is_binary(path), do: path
  defp path_binary(path), do: IO.chardata_to_string(path)
end
