// Auto-instrumentation with the OpenTelemetry Node.js SDK, loaded with
// `node --require`: the comparison point for the agent. Spans go through the
// batch processor and the OTLP/HTTP protobuf exporter to a local receiver
// (otlp-sink.mjs), as they would to a collector.
'use strict';
const { NodeTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-node');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');

const exporter = new OTLPTraceExporter({ url: process.env.BENCH_OTLP_URL });
// A queue large enough not to drop spans at saturation: a tracer that drops
// most of its spans would look cheaper than one that keeps them all.
const processor = new BatchSpanProcessor(exporter, { maxQueueSize: 65536, maxExportBatchSize: 2048, scheduledDelayMillis: 500 });
const provider = new NodeTracerProvider({ spanProcessors: [processor] });
provider.register();
registerInstrumentations({ instrumentations: [new HttpInstrumentation()] });

process.on('SIGTERM', () => {
  provider.shutdown().finally(() => process.exit(0));
});
