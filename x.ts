import { OPCUAServer, OPCUAClient, Variant, DataType, StatusCodes, MessageSecurityMode, SecurityPolicy, OPCUACertificateManager, AttributeIds, nodesets } from 'node-opcua';
import { rmSync, mkdirSync, copyFileSync, readdirSync } from 'node:fs';
async function main() {
  rmSync('/tmp/opc', { recursive: true, force: true });
  const t0 = Date.now();
  const scm = new OPCUACertificateManager({ rootFolder: '/tmp/opc/server', automaticallyAcceptUnknownCertificate: false });
  await scm.initialize();
  const server = new OPCUAServer({ port: 0 as never, serverCertificateManager: scm, securityModes: [MessageSecurityMode.None, MessageSecurityMode.SignAndEncrypt], securityPolicies: [SecurityPolicy.None, SecurityPolicy.Basic256Sha256], allowAnonymous: true, nodeset_filename: [nodesets.standard] });
  await server.initialize();
  console.log('init', Date.now() - t0);
  const addressSpace = server.engine.addressSpace!;
  const ns = addressSpace.getOwnNamespace();
  const unit = ns.addObject({ organizedBy: addressSpace.rootFolder.objects, browseName: 'BR-101', nodeId: 's=BR-101' });
  let temp = 20;
  ns.addVariable({ componentOf: unit, browseName: 'Temperature', nodeId: 's=BR-101.Temperature', dataType: "Double", minimumSamplingInterval: 100, value: { get: () => new Variant({ dataType: DataType.Double, value: temp }) } });
  const m = ns.addMethod(unit, { browseName: 'Start', nodeId: 's=BR-101.Start', inputArguments: [{ name: 'CommandId', dataType: DataType.String }], outputArguments: [{ name: 'Accepted', dataType: DataType.Boolean }] });
  m.bindMethod(async (inputArguments: Variant[], _ctx: unknown) => { temp = 37; return { statusCode: StatusCodes.Good, outputArguments: [new Variant({ dataType: DataType.Boolean, value: inputArguments[0].value === 'x' })] }; });
  await server.start();
  const url = server.getEndpointUrl();
  console.log('started', url, Date.now() - t0);
  const ccm = new OPCUACertificateManager({ rootFolder: '/tmp/opc/client', automaticallyAcceptUnknownCertificate: false });
  await ccm.initialize();
  const client = OPCUAClient.create({ applicationName: 'ampoule', securityMode: MessageSecurityMode.SignAndEncrypt, securityPolicy: SecurityPolicy.Basic256Sha256, endpointMustExist: false, clientCertificateManager: ccm, connectionStrategy: { maxRetry: 1, initialDelay: 100, maxDelay: 200 } });
  try { await client.connect(url); const s = await client.createSession(); console.log('UNEXPECTED session without trust'); await s.close(); } catch (e) { console.log('refused as expected:', (e as Error).message.slice(0, 120)); }
  await client.disconnect();
  console.log(readdirSync('/tmp/opc/server'), readdirSync('/tmp/opc/server/rejected').length, readdirSync('/tmp/opc/client/own/certs'));
}
main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
