defmodule Callconv.CLITest do
  use ExUnit.Case, async: true

  doctest Callconv.CLI

  test "the check task's help is generated from the shared option table" do
    help = Mix.Task.moduledoc(Mix.Tasks.Callconv.Check)
    assert help =~ Callconv.CLI.usage()
    assert help =~ Callconv.CLI.options_doc()
    assert Callconv.CLI.options_doc() =~ "`--lockfile FILE`"
  end

  test "a bad option is a usage error of the task that was given" do
    error =
      assert_raise Mix.Error, fn -> Callconv.CLI.parse_args!(["--nope"], "callconv.lock") end

    assert error.message =~ "mix callconv.lock: "
    assert error.mix == 2
  end
end
