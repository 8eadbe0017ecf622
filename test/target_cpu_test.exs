defmodule Callconv.TargetCpuTest do
  # The target CPU through every option path: Callconv.check/2 (in the VM and in a separate
  # process), mix callconv.check --cpu, the project's configuration, and the guard. The
  # libraries are real: test/fixtures/isa/out (one CPU each, test/fixtures/isa/build.sh) and
  # the host fixture isa_v4.so (its GNU property note asks for x86-64-v4).
  use ExUnit.Case

  alias Callconv.{Fixtures, Guard}

  @isa Path.expand("fixtures/isa/out", __DIR__)

  defp isa(name), do: Path.join(@isa, name <> ".so")

  defp isa_level(report) do
    for f <- report.findings, f.rule == "isa-level", do: {f.severity, f.message}
  end

  describe "Callconv.check/2 :cpu" do
    test "checks against the CPU named, where the triple alone assumes a floor" do
      rvv = isa("riscv64-rvv-zb")
      triple = [triple: "riscv64-unknown-linux-gnu", otp_release: 25]

      # Without a CPU: the distributions' rv64gc, assumed, so a warning.
      {:ok, report} = Callconv.check(rvv, triple)
      assert [{:warning, message}] = isa_level(report)
      assert message =~ "the floor assumed"

      # A board without the vector unit: an error naming what it lacks.
      for isolation <- [:vm, :process] do
        {:ok, report} = Callconv.check(rvv, triple ++ [cpu: "rv64gc", isolation: isolation])
        assert [{:error, message}] = isa_level(report), inspect(isolation)
        assert message =~ "v (`"
        assert report.verdict == :fail
      end

      # The CPU it was built for: nothing to say.
      {:ok, report} = Callconv.check(rvv, triple ++ [cpu: "rv64gcv_zba_zbb_zbs"])
      assert isa_level(report) == []
    end

    test "the target keeps the CPU, and the :cpu option wins over a triple's" do
      {:ok, target} = Callconv.target(triple: "riscv64gc-unknown-linux-gnu")
      assert target.cpu == "rv64gc"
      {:ok, target} = Callconv.target(triple: "riscv64gc-unknown-linux-gnu", cpu: "rv64gcv")
      assert target.cpu == "rv64gcv"

      {:ok, report} = Callconv.check(isa("mips64el-r6"), triple: "mips64el-linux-gnuabi64")
      assert [{:error, message}] = isa_level(report)
      assert message =~ "an instruction only MIPS release 6 has"

      {:ok, report} = Callconv.check(isa("mips64el-r6"), triple: "mipsisa64r6el-linux-gnuabi64")
      assert isa_level(report) == []
    end

    test "an unknown CPU, or one of another architecture, is an ArgumentError naming the known ones" do
      error =
        assert_raise ArgumentError, fn ->
          Callconv.check(isa("riscv64-rv64gc"), triple: "aarch64-unknown-linux-gnu", cpu: "z14")
        end

      assert error.message =~ ~s("z14" is a CPU for s390x, not for aarch64)
      assert error.message =~ "cortex-a53"

      error =
        assert_raise ArgumentError, fn ->
          Callconv.target(triple: "powerpc64le-unknown-linux-gnu", cpu: "power99")
        end

      assert error.message =~ "power10"

      assert_raise ArgumentError, ~r/:cpu must be a string/, fn ->
        Callconv.target(cpu: :cortex_a53)
      end
    end

    test "a running VM's target with a CPU checks against that CPU, not this machine's" do
      lib = Fixtures.host("isa_v4.so")
      {:ok, low} = Callconv.check(lib, cpu: "x86-64-v2")
      assert Enum.any?(low.findings, &(&1.rule == "isa-note-level" and &1.severity == :error))
      {:ok, high} = Callconv.check(lib, cpu: "x86-64-v4")
      refute Enum.any?(high.findings, &(&1.rule == "isa-note-level"))
    end
  end

  describe "mix callconv.check --cpu" do
    test "an error against a CPU below the library's, a usage error for a wrong one" do
      args = ["--target", "powerpc64le-unknown-linux-gnu", "--otp", "25"]
      mma = isa("ppc64le-power10-mma")

      {result, out} = Callconv.MixTask.run_check(args ++ ["--cpu", "power9", mma])
      assert result == {:exit, 1}, out
      assert out =~ "[isa-level]"
      assert out =~ "mma (`xxsetaccz`"

      {result, out} = Callconv.MixTask.run_check(args ++ ["--cpu", "power10", mma])
      assert result == :ok, out
      refute out =~ "isa-level"

      error =
        assert_raise Mix.Error, fn ->
          Callconv.MixTask.run_check(args ++ ["--cpu", "cortex-a53", mma])
        end

      assert error.mix == 2
      assert Exception.message(error) =~ "for aarch64, not for powerpc64"
    end

    test "callconv: [target: [cpu: ...]] in the project applies, and --cpu wins" do
      # This project's configuration, as a firmware project's mix.exs would set it (a
      # z14 board; see guides/nerves.md), for this test only: the module is not async.
      before = Mix.Project.config()[:callconv]

      Mix.ProjectStack.merge_config(
        callconv: [target: [triple: "s390x-unknown-linux-gnu", otp_release: "25", cpu: "z14"]]
      )

      try do
        {result, out} = Callconv.MixTask.run_check([isa("s390x-z15")])
        assert result == {:exit, 1}, out
        assert out =~ "[isa-level]"
        assert out =~ "arch13 (`"

        {result, out} = Callconv.MixTask.run_check(["--cpu", "z15", isa("s390x-z15")])
        assert result == :ok, out
      after
        Mix.ProjectStack.merge_config(callconv: before)
      end
    end

    test "the configuration's CPU must be a string" do
      assert Callconv.Config.cpu(target: [cpu: "z14"]) == "z14"

      assert_raise Mix.Error, ~r/must be a string/, fn ->
        Callconv.Config.cpu(target: [cpu: 14])
      end
    end
  end

  describe "the guard's :cpu" do
    test "checks against the CPU named, and refuses a name of another architecture" do
      base = Path.rootname(Fixtures.host("isa_v4.so"))
      module = Callconv.Fixtures.Hello

      assert {:error, {:callconv, report}} =
               Guard.verify(module, base, cpu: "x86-64-v2", log: false, cache: false)

      assert Enum.any?(report.findings, &(&1.rule == "isa-note-level"))

      assert {:ok, _} = Guard.verify(module, base, cpu: "x86-64-v4", log: false, cache: false)

      assert_raise ArgumentError, ~r/not for x86_64/, fn ->
        Guard.verify(module, base, cpu: "cortex-a53", log: false)
      end
    end
  end
end
