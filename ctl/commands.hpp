// generatorctl's commands. `run()` parses the command line and returns the exit code.
#pragma once

#include <string>
#include <vector>

namespace gen::ctl {

/// `args` without the program name. Never throws.
int run(const std::vector<std::string>& args);

}  // namespace gen::ctl
