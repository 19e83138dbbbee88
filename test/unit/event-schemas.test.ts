import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { EVENT_SCHEMAS, EVENT_TYPES, domainEventSchema, type DomainEvent } from '../../shared/events';
import { EVENT_SCHEMA_DIR, renderEventSchemas, schemaFilesOnDisk } from '../../scripts/events/schemas';

const captured: DomainEvent = {
  id: '3b241101-e2bb-4255-8caf-4136c566a962',
  type: 'payment.captured',
  aggregateType: 'payment',
  aggregateId: 'pay_o1',
  sequence: 2,
  occurredAt: '2026-12-04T19:00:00.000Z',
  sagaId: 'order-1',
  payload: { paymentId: 'pay_o1', orderId: 'o1', amount: 2500, currency: 'EUR' },
};

describe('domain event schemas', () => {
  test('docs/events holds exactly what `npm run events:schemas` generates (run it when this fails)', () => {
    const rendered = renderEventSchemas();
    expect(schemaFilesOnDisk().sort()).toEqual(Object.keys(rendered).sort());
    for (const [file, content] of Object.entries(rendered)) {
      expect(readFileSync(path.join(EVENT_SCHEMA_DIR, file), 'utf8')).toBe(content);
    }
  });

  test('an event fits its zod schema and its JSON Schema file; card data, a wrong aggregate or a sequence 0 do not', () => {
    const ajv = new Ajv2020({ strict: false });
    addFormats(ajv);
    const validate = ajv.compile(
      JSON.parse(readFileSync(path.join(EVENT_SCHEMA_DIR, 'domain-event.schema.json'), 'utf8')) as object,
    );
    const wrong = [
      { ...captured, payload: { ...captured.payload, paymentToken: 'tok_visa' } },
      { ...captured, aggregateType: 'order' },
      { ...captured, sequence: 0 },
      { ...captured, id: 'not-a-uuid' },
      { ...captured, type: 'payment.teleported' },
    ];
    expect(domainEventSchema.safeParse(captured).success).toBe(true);
    expect(validate(captured)).toBe(true);
    for (const event of wrong) {
      expect(domainEventSchema.safeParse(event).success).toBe(false);
      expect(validate(event)).toBe(false);
    }
  });

  test('every event type has its own schema, naming its aggregate', () => {
    for (const type of EVENT_TYPES) {
      const file = JSON.parse(readFileSync(path.join(EVENT_SCHEMA_DIR, `${type}.schema.json`), 'utf8')) as {
        title: string;
        properties: { type: { const: string }; aggregateType: { const: string } };
      };
      expect(file.title).toBe(type);
      expect(file.properties.type.const).toBe(type);
      expect(type.startsWith(`${file.properties.aggregateType.const}.`)).toBe(true);
      expect(EVENT_SCHEMAS[type].shape.type.value).toBe(type);
    }
  });
});
