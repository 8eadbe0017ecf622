# The fixtures are real NIFs compiled from test/fixtures/src.
{_, 0} = System.cmd("bash", ["test/fixtures/build.sh"], stderr_to_stdout: true)
Mix.shell(Mix.Shell.Process)
ExUnit.start()
