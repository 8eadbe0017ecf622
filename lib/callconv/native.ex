defmodule Callconv.Native do
  @moduledoc false
  # The NIF stubs. Every function here is replaced by the Rust crate callconv_nif.
  #
  # No @on_load: the first call loads the library, then calls itself again (now the NIF).
  # A release started in embedded mode (`bin/app start`, `bin/app daemon`) loads every
  # module of every application first and runs the @on_load functions afterwards, in the
  # reverse of load order, so the @on_load of a guarded NIF module (Callconv.Guard) runs
  # before callconv's own; were the library loaded by an @on_load here, the guard would find
  # these functions undefined (`undef`) and the release would not boot.

  @retrying {__MODULE__, :retrying}

  @doc false
  # callconv's command-line tool, installed beside the NIF by the compiler in mix.exs.
  def executable do
    exe =
      if match?({:win32, _}, :os.type()), do: ~c"native/callconv.exe", else: ~c"native/callconv"

    path =
      case :code.priv_dir(:callconv) do
        {:error, _} -> "callconv/priv/" <> List.to_string(exe)
        dir -> List.to_string(:filename.join(dir, exe))
      end

    # Not built for :prod unless asked (see the compiler in callconv's mix.exs).
    unless File.exists?(path) do
      raise "callconv's command-line tool (for isolation: :process and probe: true) is not " <>
              "built in this environment: add `config :callconv, cli: true` to config/config.exs " <>
              "and recompile callconv (mix deps.compile callconv --force)"
    end

    path
  end

  @doc false
  # Loads callconv's NIF unless it is loaded: :ok, or {:error, message} naming what is wrong.
  @spec ensure_loaded() :: :ok | {:error, String.t()}
  def ensure_loaded do
    # Keyed by this module's code: a reloaded Callconv.Native has no NIF until it loads one.
    key = {__MODULE__, :loaded, __MODULE__.module_info(:md5)}

    if :persistent_term.get(key, false) do
      :ok
    else
      with :ok <- load_nif(), do: :persistent_term.put(key, true)
    end
  end

  @doc false
  def load_nif do
    case :code.priv_dir(:callconv) do
      {:error, _} ->
        {:error,
         "callconv's native library is not available: the application :callconv has no " <>
           "priv directory on the code path (an escript, or a release built without " <>
           "callconv: do not mark the callconv dependency runtime: false when you use the guard)"}

      priv ->
        path = :filename.join(priv, ~c"native/libcallconv_nif")

        case :erlang.load_nif(path, 0) do
          :ok ->
            :ok

          # Already loaded (by another process, or before this call).
          {:error, {:reload, _}} ->
            :ok

          {:error, {reason, text}} ->
            {:error,
             "callconv could not load its native library #{path}.so (#{reason}: #{text}); " <>
               "run `mix compile` in the project so the Rust crate is built and copied to priv/native"}
        end
    end
  end

  # A stub: load the library, then call the function again, once, which is now the NIF. A
  # stub reached again (the library loaded but lacks the function) raises instead.
  defp loaded(call) do
    with :undefined <- :erlang.get(@retrying),
         :ok <- load_nif() do
      :erlang.put(@retrying, true)

      try do
        call.()
      after
        :erlang.erase(@retrying)
      end
    else
      true -> :erlang.nif_error(:nif_not_loaded)
      {:error, message} -> :erlang.nif_error({:nif_not_loaded, message})
    end
  end

  def check(path, request, probe, root), do: loaded(fn -> check(path, request, probe, root) end)
  def beam_nifs(bytes), do: loaded(fn -> beam_nifs(bytes) end)
  def read_erts(dir), do: loaded(fn -> read_erts(dir) end)
  def target_with_otp(target, otp), do: loaded(fn -> target_with_otp(target, otp) end)

  def target_with_cpu(target, cpu), do: loaded(fn -> target_with_cpu(target, cpu) end)

  def target_for_triple(target, triple),
    do: loaded(fn -> target_for_triple(target, triple) end)

  def host_libc_version, do: loaded(fn -> host_libc_version() end)

  def conventions(arch), do: loaded(fn -> conventions(arch) end)
  def conventions_chart(arch, format), do: loaded(fn -> conventions_chart(arch, format) end)

  def render_document(libraries, errors, target, format, root, verbose),
    do: loaded(fn -> render_document(libraries, errors, target, format, root, verbose) end)

  def rules, do: loaded(fn -> rules() end)
  def file_sha256(path), do: loaded(fn -> file_sha256(path) end)
end
