// The AWS SDK for JavaScript v3's Bedrock Runtime client with its default
// request handler (HTTP/2; cleartext with prior knowledge to an http://
// endpoint) and placeholder keys made at run time (the forwarder strips
// the signature they make): Converse, ConverseStream and InvokeModel
// against BEDROCK_ENDPOINT. Prints one line per call; exits 1 on an error.
import { randomBytes } from "node:crypto";
import {
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
  InvokeModelCommand,
} from "@aws-sdk/client-bedrock-runtime";

const endpoint = process.env.BEDROCK_ENDPOINT;
if (!endpoint) {
  console.error("BEDROCK_ENDPOINT is not set");
  process.exit(2);
}
const client = new BedrockRuntimeClient({
  region: "us-east-1",
  endpoint,
  maxAttempts: 1,
  credentials: {
    accessKeyId: "ASIA" + randomBytes(8).toString("hex").toUpperCase(),
    secretAccessKey: randomBytes(30).toString("base64"),
  },
});
const modelId = "anthropic.claude-fake-v1:0";
const messages = [{ role: "user", content: [{ text: "Say hello." }] }];

try {
  const conv = await client.send(new ConverseCommand({ modelId, messages }));
  console.log("converse: " + conv.output.message.content.map((c) => c.text).join(""));

  const stream = await client.send(new ConverseStreamCommand({ modelId, messages }));
  let text = "";
  for await (const ev of stream.stream) {
    if (ev.contentBlockDelta) text += ev.contentBlockDelta.delta.text;
  }
  console.log("converse-stream: " + text);

  const inv = await client.send(new InvokeModelCommand({
    modelId,
    contentType: "application/json",
    accept: "application/json",
    body: JSON.stringify({ anthropic_version: "bedrock-2023-05-31", max_tokens: 16, messages: [{ role: "user", content: "Say hello." }] }),
  }));
  const answer = JSON.parse(new TextDecoder().decode(inv.body));
  console.log("invoke: " + answer.content.map((c) => c.text).join(""));
  console.log("handler: " + client.config.requestHandler.constructor.name);
} catch (err) {
  console.error(`error: ${err.name}: ${err.message}`);
  process.exit(1);
} finally {
  client.destroy();
}
