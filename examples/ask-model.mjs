// Asks the model through the gateway with the official OpenAI client: it reads OPENAI_BASE_URL and
// OPENAI_API_KEY (set by the agentgate action or `agentgate ci env`); nothing here knows about the gateway.
import OpenAI from 'openai';

const client = new OpenAI({ maxRetries: 0 });
const completion = await client.chat.completions.create({
  model: process.env.MODEL ?? 'gpt-4o-mini',
  messages: [{ role: 'user', content: process.argv[2] ?? 'Say hello.' }],
});
console.log(completion.choices[0]?.message?.content ?? '');
