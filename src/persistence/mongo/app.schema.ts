import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import { Schema as MongooseSchema } from 'mongoose';
import type {
  AppPermission,
  AppPreviewImage,
  AppTool,
  AppSettingSchemaEntry,
  AppType,
  HardwareLevel,
  HardwareRequirement,
  HardwareType,
  PermissionType,
} from '../persistence.types.js';

/*
 * Only the unique keys and the Dates are required: mongoose's `required` refuses '' where nedb would not.
 * Shapes are checked by the API layer before they get here; the schema only pins types and the unique index.
 * No enums on purpose: both stores must accept and reject the same things, and nedb has no schema.
 * `minimize: false` keeps empty objects inside settings, as nedb does.
 */

@Schema({ _id: false, versionKey: false, minimize: false })
export class AppPermissionEntry {
  @Prop({ type: String })
  type!: PermissionType;

  @Prop({ type: String })
  description?: string;
}

@Schema({ _id: false, versionKey: false, minimize: false })
export class HardwareRequirementEntry {
  @Prop({ type: String })
  type!: HardwareType;

  @Prop({ type: String })
  level!: HardwareLevel;

  @Prop({ type: String })
  description?: string;
}

@Schema({ _id: false, versionKey: false, minimize: false })
export class WebviewKeyEntry {
  @Prop({ type: String })
  publicKeyPem!: string;

  @Prop({ type: String })
  sealedPrivateKey!: string;

  @Prop({ type: Date })
  createdAt!: Date;
}

const AppPermissionEntrySchema = SchemaFactory.createForClass(AppPermissionEntry);
const WebviewKeyEntrySchema = SchemaFactory.createForClass(WebviewKeyEntry);
const HardwareRequirementEntrySchema = SchemaFactory.createForClass(HardwareRequirementEntry);

@Schema({ collection: 'apps', versionKey: false, minimize: false, strictQuery: 'throw' })
export class AppEntity {
  @Prop({ type: String, required: true, unique: true })
  packageName!: string;

  @Prop({ type: String })
  name!: string;

  @Prop({ type: String })
  description?: string;

  @Prop({ type: String })
  publicUrl!: string;

  @Prop({ type: String })
  webviewURL?: string;

  @Prop({ type: String })
  logoURL?: string;

  @Prop({ type: String })
  appType!: AppType;

  @Prop({ type: [AppPermissionEntrySchema], default: [] })
  permissions!: AppPermission[];

  @Prop({ type: [HardwareRequirementEntrySchema], default: [] })
  hardwareRequirements!: HardwareRequirement[];

  @Prop({ type: [MongooseSchema.Types.Mixed], default: [] })
  settings!: AppSettingSchemaEntry[];

  @Prop({ type: [MongooseSchema.Types.Mixed], default: undefined })
  tools?: AppTool[];

  @Prop({ type: String })
  version?: string;

  @Prop({ type: [MongooseSchema.Types.Mixed], default: undefined })
  previewImages?: AppPreviewImage[];

  @Prop({ type: String })
  hashedApiKey!: string;

  /** Never part of AppRecord: read and written only through findWebviewKey / replaceWebviewKey. */
  @Prop({ type: WebviewKeyEntrySchema, required: false })
  webviewKey?: WebviewKeyEntry;

  @Prop({ type: Date, required: true })
  createdAt!: Date;

  @Prop({ type: Date, required: true })
  updatedAt!: Date;
}

export const APP_MODEL = 'App';
export const AppSchema = SchemaFactory.createForClass(AppEntity);
