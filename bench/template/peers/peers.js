// The peers of bench_template, run by it in the same run on the same template and data:
// handlebars and mustache.js, each compiled once and warmed up (their best case), then timed
// over the same number of renders. Escaping is off, as text.template's is for Markdown, and
// each peer's output is compared with text.template's.
//
//   node peers.js TEMPLATE DATA.json EXPECTED.md RUNS
// prints one JSON line per peer: {"name", "renders_per_s", "cpu_per_render_us", "same_output"}
'use strict';
const fs = require('fs');
const Handlebars = require('handlebars');
const Mustache = require('mustache');

const [templatePath, dataPath, expectedPath, runsText] = process.argv.slice(2);
const template = fs.readFileSync(templatePath, 'utf8');
const data = JSON.parse(fs.readFileSync(dataPath, 'utf8'));
const expected = fs.readFileSync(expectedPath, 'utf8');
const runs = Number(runsText) || 1000;

function measure(name, render) {
  const first = render();
  for (let i = 0; i < Math.min(200, runs); ++i) render();  // JIT warm-up
  const cpuStart = process.cpuUsage();
  const start = process.hrtime.bigint();
  let bytes = 0;
  for (let i = 0; i < runs; ++i) bytes += render().length;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpuStart);
  if (bytes === 0) throw new Error('empty output');
  console.log(JSON.stringify({
    name,
    renders_per_s: runs / seconds,
    cpu_per_render_us: (cpu.user + cpu.system) / runs,
    same_output: first === expected,
  }));
}

const handlebars = Handlebars.compile(template, {noEscape: true});
measure('handlebars', () => handlebars(data));
const noEscape = {escape: (text) => String(text)};
measure('mustache.js', () => Mustache.render(template, data, {}, noEscape));
