// <rpc-error> parsing on its own (netconfd seldom sends warnings, so they are checked here with an
// RFC 6241 §4.3 example reply).
import { describe, expect, it } from 'vitest';
import { RpcError, parseRpcErrors } from '../../../src/drivers/netconf/rpc-error.ts';
import { parseXml } from '../../../src/drivers/netconf/xml.ts';

const reply = (body: string) => parseXml(`<rpc-reply xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" message-id="7">${body}</rpc-reply>`);
const err = (tag: string, severity = 'error', extra = '') =>
  `<rpc-error><error-type>application</error-type><error-tag>${tag}</error-tag><error-severity>${severity}</error-severity>${extra}</rpc-error>`;

describe('rpc-error', () => {
  it('keeps warnings apart from errors and reads every field', () => {
    const r = reply(
      err('invalid-value', 'error', '<error-app-tag>not-in-range</error-app-tag><error-path>/nvo/vlan[id=5000]/id</error-path><error-message xml:lang="en">value not in range</error-message><error-info><bad-value>5000</bad-value></error-info>') +
        err('operation-failed', 'warning', '<error-message>deprecated leaf</error-message>'),
    );
    const { errors, warnings } = parseRpcErrors(r);
    expect(errors).toEqual([{ type: 'application', tag: 'invalid-value', severity: 'error', appTag: 'not-in-range', path: '/nvo/vlan[id=5000]/id', message: 'value not in range', info: { 'bad-value': '5000' } }]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).toBe('deprecated leaf');
    const e = new RpcError(errors, warnings, 'edit-config');
    expect(e.message).toBe('edit-config: invalid-value at /nvo/vlan[id=5000]/id: value not in range');
    expect(e.transient).toBe(false);
    expect(e.code).toBe('invalid-input');
    expect(e.toJSON().error.details).toMatchObject({ netconfCode: 'rpc-error', transient: false });
  });

  it('marks lock-denied and in-use transient, with the holder in info', () => {
    const { errors } = parseRpcErrors(reply(err('lock-denied', 'error', '<error-info><session-id>4</session-id></error-info>')));
    const e = new RpcError(errors, [], 'lock');
    expect(e.netconfCode).toBe('lock-denied');
    expect(e.transient).toBe(true);
    expect(e.errors[0]!.info['session-id']).toBe('4');
    expect(new RpcError(parseRpcErrors(reply(err('in-use'))).errors, [], 'edit-config').transient).toBe(true);
  });

  it('finds nothing in an <ok/> reply', () => {
    expect(parseRpcErrors(reply('<ok/>'))).toEqual({ errors: [], warnings: [] });
  });
});
