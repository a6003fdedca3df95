// generatorctl: command-line client of the Generator REST API. Wiring only; see commands.cpp.
#include <string>
#include <vector>

#include "commands.hpp"

int main(int argc, char** argv) {
  return gen::ctl::run(std::vector<std::string>(argv + 1, argv + argc));
}
