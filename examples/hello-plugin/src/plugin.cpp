// The plugin's one registration function; generator_add_plugin() generates the rest.
#include <memory>

#include <gen/sdk/generator.hpp>

#include "hello_greet.hpp"

GENERATOR_PLUGIN_REGISTER(registry) {
  registry.add(std::make_unique<hello::GreetGenerator>());
}
