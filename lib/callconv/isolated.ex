defmodule Callconv.Isolated do
  @moduledoc false
  # `isolation: :process`: the check runs in callconv's command-line tool, a separate OS
  # process. It takes the same request the NIF takes and writes the same report JSON, so
  # `Callconv.Wire` decodes both alike.

  alias Callconv.{Error, Report}

  @spec check(binary(), binary(), binary() | nil, binary() | nil) ::
          {:ok, Report.t()} | {:error, Error.t()}
  def check(path, request, probe_exe, root) do
    # The request holds the whole target: about 80 KB with OTP 25's beam.smp exports, below
    # Linux's 128 KiB limit for one argument.
    args =
      ["isolated", "--request", request] ++
        if(probe_exe, do: ["--probe-exe", probe_exe], else: []) ++
        if(root, do: ["--root", root], else: []) ++ [path]

    case System.cmd(Callconv.Native.executable(), args, stderr_to_stdout: false) do
      {out, 0} -> Callconv.Wire.outcome(out)
      {out, status} -> raise "callconv's isolated check exited with #{status}: #{out}"
    end
  end
end
