defmodule Callconv.MixTask do
  @moduledoc false
  # Runs `mix callconv.check` in the test VM (test_helper.exs sets Mix.Shell.Process)
  # and returns its result with what it printed.

  @doc "The task's return value, or `{:exit, status}`, and its shell output as one string."
  def run_check(args) do
    Mix.Task.reenable("callconv.check")

    result =
      try do
        Mix.Tasks.Callconv.Check.run(args)
      catch
        :exit, {:shutdown, status} -> {:exit, status}
      end

    {result, shell_output()}
  end

  defp shell_output(acc \\ []) do
    receive do
      {:mix_shell, :info, [line]} -> shell_output([line | acc])
    after
      0 -> acc |> Enum.reverse() |> Enum.join("\n")
    end
  end
end
